package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;

/**
 * What the schedulers share: the training schedule, the trailing timesteps of one run
 * ({@link Schedulers#trailingTimesteps}) and whether the predicted picture is clamped to [-1, 1].
 */
abstract class TrailingScheduler implements Scheduler {

    protected final NoiseSchedule schedule;
    protected final int[] timesteps;
    protected final boolean clipSample;

    TrailingScheduler(NoiseSchedule schedule, int steps, boolean clipSample) {
        this.schedule = schedule;
        this.timesteps = Schedulers.trailingTimesteps(schedule.length(), steps);
        this.clipSample = clipSample;
    }

    @Override
    public final int steps() {
        return timesteps.length;
    }

    @Override
    public final int timestep(int i) {
        return timesteps[i];
    }

    /** The sample is in VP form (a·x₀ + s·ε), as the model was trained on: no scaling. */
    @Override
    public float initialNoiseScale() {
        return 1f;
    }

    @Override
    public NDArray scaleInput(NDArray sample, int i) {
        return sample;
    }

    /** x₀ from the model output on a VP sample at ᾱ = {@code alphaBar}, clamped when the model asks for it. */
    protected final NDArray predictX0(NDArray output, NDArray vpSample, double alphaBar) {
        NDArray x0 = Schedulers.predictX0(output, vpSample, Math.sqrt(alphaBar), Math.sqrt(1 - alphaBar),
                schedule.prediction());
        return clipSample ? x0.clip(-1f, 1f) : x0;
    }

    /** ᾱ after step {@code i}: that of the next timestep, or 1 (the clean picture) after the last. */
    protected final double alphaBarAfter(int i) {
        return i + 1 < timesteps.length ? schedule.alphaBar(timesteps[i + 1]) : 1.0;
    }
}
