package io.diffq.common.model;

/**
 * How long a job of the {@code simulated} model takes when its times spread
 * ({@code diffq.worker.simulated.latency-spread=exponential}): an exponential draw (coefficient of variation 1)
 * whose mean is the configured latency, taken from the job's seed, so the same seed always takes the same
 * time. It lives here, beside the model cards, because the worker's simulated model and the benchmark
 * (which predicts each job's time to compute the ideal queue) must draw the same times.
 */
public final class SimulatedJobTime {

    private SimulatedJobTime() {
    }

    /** {@code meanNanos} times an exponential draw of mean 1 from {@code seed}. */
    public static long exponentialNanos(long seed, long meanNanos) {
        return Math.round(-Math.log1p(-uniform(seed)) * meanNanos);
    }

    /** A uniform draw in [0, 1) from {@code seed}: SplitMix64's finaliser, its top 53 bits. */
    static double uniform(long seed) {
        long z = seed + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (z >>> 11) * 0x1.0p-53;
    }
}
