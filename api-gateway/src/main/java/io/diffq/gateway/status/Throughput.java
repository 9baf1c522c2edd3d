package io.diffq.gateway.status;

/**
 * Jobs finished per second over the last minute, from a ring of per-second counts. Every gateway sees
 * every job event, so each instance measures the whole fleet's throughput.
 */
final class Throughput {

    private static final int SECONDS = 60;

    private final long[] counts = new long[SECONDS];
    private final long[] stamps = new long[SECONDS];

    /** Counts one finished job at {@code epochSecond}. */
    synchronized void record(long epochSecond) {
        int slot = (int) Math.floorMod(epochSecond, (long) SECONDS);
        if (stamps[slot] != epochSecond) {
            stamps[slot] = epochSecond;
            counts[slot] = 0;
        }
        counts[slot]++;
    }

    /** Jobs per second over the minute before {@code epochSecond}. */
    synchronized double perSecond(long epochSecond) {
        long total = 0;
        for (int i = 0; i < SECONDS; i++) {
            if (epochSecond - stamps[i] < SECONDS && stamps[i] <= epochSecond) {
                total += counts[i];
            }
        }
        return total / (double) SECONDS;
    }
}
