package io.diffq.common.job;

/** Denoising progress: {@code step} of {@code totalSteps} done. */
public record Progress(int step, int totalSteps) {

    public Progress {
        if (totalSteps < 0 || step < 0 || step > totalSteps) {
            throw new IllegalArgumentException("progress " + step + "/" + totalSteps);
        }
    }
}
