package io.diffq.gateway.security;

/**
 * A token bucket holding at most {@code capacity} tokens and gaining {@code perSecond} a second; each request
 * takes one. Kept in its exact integer form (the "virtual scheduling" form of the generic cell rate algorithm):
 * instead of a token count it stores the time at which the bucket will be full again, so there is no rounding
 * drift and no background refill. Time is passed in (nanoseconds from any fixed origin, as
 * {@link System#nanoTime()}), so it is tested without sleeping.
 */
final class TokenBucket {

    /** Nanoseconds per token. */
    private final long interval;
    /** How far the full-again time may lie ahead: the room for {@code capacity - 1} more tokens. */
    private final long tolerance;
    /** When the bucket is full again; at or before now means full. */
    private long fullAt;

    /** A full bucket at time {@code now}. */
    TokenBucket(double perSecond, int capacity, long now) {
        this.interval = Math.max(1, Math.round(1e9 / perSecond));
        this.tolerance = (long) Math.min((double) (capacity - 1) * interval, Long.MAX_VALUE / 4.0);
        this.fullAt = now;
    }

    /**
     * Takes a token if there is one.
     *
     * @return 0 when a token was taken, else the nanoseconds until one will be there (at least 1)
     */
    synchronized long tryTake(long now) {
        long from = fullAt - now < 0 ? now : fullAt;
        long wait = from - now - tolerance;
        if (wait > 0) {
            return wait;
        }
        fullAt = from + interval;
        return 0;
    }

    /** Whether the bucket is full at {@code now}: it then behaves as a new one, so it may be dropped. */
    synchronized boolean isFull(long now) {
        return fullAt - now <= 0;
    }
}
