package io.diffq.worker.pipeline;

/**
 * Told after each denoising step. It stops the generation by throwing — {@link GenerationCanceledException}
 * when the client canceled, other runtime exceptions when the worker times the job out or shuts down — and
 * a model must let whatever it throws propagate out of {@code generate}, having freed what it holds.
 */
@FunctionalInterface
public interface StepListener {

    void onStep(int step, int totalSteps);

    StepListener NONE = (step, total) -> { };
}
