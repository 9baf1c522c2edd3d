package io.diffq.worker.pipeline;

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

    /** ᾱ after step {@code i}: that of the next timestep, or 1 (the clean picture) after the last. */
    protected final double alphaBarAfter(int i) {
        return i + 1 < timesteps.length ? schedule.alphaBar(timesteps[i + 1]) : 1.0;
    }
}
