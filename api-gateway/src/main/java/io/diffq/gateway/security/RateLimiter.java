package io.diffq.gateway.security;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * One {@link TokenBucket} per client, in bounded memory. A bucket that has refilled completely behaves exactly
 * as a new one, so such buckets are dropped (at most once a second, a pass over the map). When the map is
 * still full, clients without a bucket share a single overflow bucket: a flood of new client addresses can
 * then exhaust only that one, never the buckets of the clients already known, and never the heap.
 */
final class RateLimiter {

    private static final long SWEEP_INTERVAL = TimeUnit.SECONDS.toNanos(1);

    private final double perSecond;
    private final int burst;
    private final int maxClients;
    private final LongSupplier nanoClock;
    private final ConcurrentHashMap<String, TokenBucket> buckets = new ConcurrentHashMap<>();
    private final TokenBucket overflow;
    private final AtomicLong nextSweep;

    /**
     * @param nanoClock a monotonic time in nanoseconds ({@code System::nanoTime} outside tests)
     */
    RateLimiter(double perSecond, int burst, int maxClients, LongSupplier nanoClock) {
        this.perSecond = perSecond;
        this.burst = burst;
        this.maxClients = maxClients;
        this.nanoClock = nanoClock;
        long now = nanoClock.getAsLong();
        this.overflow = new TokenBucket(perSecond, burst, now);
        this.nextSweep = new AtomicLong(now + SWEEP_INTERVAL);
    }

    /**
     * Takes a token from {@code client}'s bucket.
     *
     * @return 0 when the request may go on, else the whole seconds to wait for a token (at least 1)
     */
    long acquire(String client) {
        long now = nanoClock.getAsLong();
        sweepIfDue(now);
        long wait;
        TokenBucket known = buckets.get(client);
        if (known != null || buckets.size() < maxClients) {
            long[] waited = new long[1];
            // compute() makes take-a-token atomic with the sweep's removal of full buckets.
            buckets.compute(client, (k, b) -> {
                TokenBucket bucket = b != null ? b : new TokenBucket(perSecond, burst, now);
                waited[0] = bucket.tryTake(now);
                return bucket;
            });
            wait = waited[0];
        } else {
            wait = overflow.tryTake(now);
        }
        return wait == 0 ? 0 : Math.max(1, TimeUnit.NANOSECONDS.toSeconds(wait + TimeUnit.SECONDS.toNanos(1) - 1));
    }

    /** How many clients have a bucket of their own now. */
    int clients() {
        return buckets.size();
    }

    private void sweepIfDue(long now) {
        long due = nextSweep.get();
        if (now - due >= 0 && nextSweep.compareAndSet(due, now + SWEEP_INTERVAL)) {
            for (String client : buckets.keySet()) {
                buckets.computeIfPresent(client, (k, b) -> b.isFull(now) ? null : b);
            }
        }
    }
}
