package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;

/**
 * Deterministic DDIM (Song et al., 2021; η = 0) over trailing timesteps: from the predicted x₀ and ε,
 * {@code x_prev = √ᾱ_prev·x₀ + √(1−ᾱ_prev)·ε}; the last step lands on x₀ (ᾱ_prev = 1).
 */
public final class DdimScheduler extends TrailingScheduler {

    public DdimScheduler(NoiseSchedule schedule, int steps, boolean clipSample) {
        super(schedule, steps, clipSample);
    }

    @Override
    public NDArray step(NDArray output, int i, NDArray sample) {
        double ab = schedule.alphaBar(timesteps[i]);
        double abPrev = alphaBarAfter(i);
        double a = Math.sqrt(ab);
        double s = Math.sqrt(1 - ab);
        NDArray x0 = predictX0(output, sample, ab);
        // ε consistent with the (possibly clipped) x₀ and the sample.
        NDArray eps = sample.sub(x0.mul((float) a)).div((float) s);
        return x0.mul((float) Math.sqrt(abPrev)).add(eps.mul((float) Math.sqrt(1 - abPrev)));
    }
}
