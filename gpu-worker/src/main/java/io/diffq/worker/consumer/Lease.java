package io.diffq.worker.consumer;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * How long this worker surely still holds one acquired job record: the broker's acquisition lock, counted
 * from before the poll that acquired it (or before the last renewal the broker confirmed), less a margin. A
 * worker writes a job's state only while it {@link #held holds} the record, so a worker that was paused past
 * its lock (a long GC, a frozen VM) and whose job went to another worker as the next attempt writes nothing
 * more: it cannot put an older attempt's state after the newer one's. Thread-safe: the loop renews, the
 * device's thread checks.
 */
final class Lease {

    /** Kept free at the end of a lock: a write checked just before it must reach the broker before it ends. */
    static final Duration MARGIN = Duration.ofSeconds(2);

    private final LongSupplier nanoClock;
    private final long lockNanos;
    private volatile long until;
    private volatile boolean lost;

    /**
     * @param acquiredAt when the poll that acquired the record began ({@code nanoClock} time)
     * @param lock       the broker's acquisition lock
     */
    Lease(LongSupplier nanoClock, long acquiredAt, Duration lock) {
        this.nanoClock = nanoClock;
        this.lockNanos = lock.toNanos();
        this.until = acquiredAt + lockNanos - MARGIN.toNanos();
    }

    /** Whether the record is surely still this worker's: its lock has not run out, nor been refused. */
    boolean held() {
        return !lost && nanoClock.getAsLong() - until < 0;
    }

    /** The broker confirmed a renewal sent at or after {@code renewedAt}: the lock runs a full period from then. */
    void renewed(long renewedAt) {
        long next = renewedAt + lockNanos - MARGIN.toNanos();
        if (next - until > 0) {
            until = next;
        }
    }

    /** The broker refused an acknowledgement of the record: another worker may have it now. */
    void lose() {
        lost = true;
    }
}
