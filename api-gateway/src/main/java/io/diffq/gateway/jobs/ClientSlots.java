package io.diffq.gateway.jobs;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Long-lived requests (event streams, waiting submits) counted per client and in all, each under a cap: what
 * keeps one client from holding all of an instance's connections.
 */
final class ClientSlots {

    /** What {@link #acquire} found. */
    enum Outcome {
        /** A slot is taken: {@link #release} it when done. */
        ACQUIRED,
        /** The client holds as many as it may. */
        CLIENT_FULL,
        /** The instance holds as many as it may. */
        INSTANCE_FULL
    }

    private final int maxPerClient;
    private final int maxTotal;
    private final Map<String, Integer> perClient = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();

    ClientSlots(int maxPerClient, int maxTotal) {
        this.maxPerClient = maxPerClient;
        this.maxTotal = maxTotal;
    }

    /** Takes one slot of {@code client}, unless it or the instance is at its cap (then nothing is taken). */
    Outcome acquire(String client) {
        int[] mine = new int[1];
        perClient.compute(client, (k, n) -> mine[0] = n == null ? 1 : n + 1);
        int all = total.incrementAndGet();
        if (mine[0] > maxPerClient) {
            release(client);
            return Outcome.CLIENT_FULL;
        }
        if (all > maxTotal) {
            release(client);
            return Outcome.INSTANCE_FULL;
        }
        return Outcome.ACQUIRED;
    }

    void release(String client) {
        perClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
        total.decrementAndGet();
    }

    /** Slots taken, all clients together (a gauge). */
    AtomicInteger total() {
        return total;
    }
}
