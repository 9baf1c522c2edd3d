package io.diffq.worker.model;

/** Told after each denoising step; it may stop the generation by throwing {@link GenerationCanceledException}. */
@FunctionalInterface
public interface StepListener {

    void onStep(int step, int totalSteps);

    StepListener NONE = (step, total) -> { };
}
