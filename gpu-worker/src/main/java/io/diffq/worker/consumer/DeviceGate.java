package io.diffq.worker.consumer;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A device's turn: held from a loop's poll for new jobs until its model has drawn them. A device may have
 * several share consumers ({@code diffq.worker.consumers-per-device}); only the one holding the gate acquires
 * jobs, so no job is acquired ahead of the device, and one consumer's writes and acknowledgements overlap the
 * next consumer's acquisition and model run instead of standing between two jobs.
 *
 * <p>The turn moves on once the holder's model has drawn what it polled; a holder whose poll came back empty keeps
 * it. A share consumer whose poll came back empty keeps fetching in the background (KAFKA-20015), so a turn handed
 * on after every empty poll would leave a fetch in flight in every consumer, and a job landing in one that waits for
 * the turn would wait out the holder's poll (measured before this rule: idle queue overhead p50 233 ms). A waiter
 * that may still be fetching (its last poll was empty: after an idle handover, or a failed poll) gets the turn
 * after the holder's next poll, which is short while that lasts.
 */
final class DeviceGate {

    private final Semaphore turn = new Semaphore(1, true);
    /**
     * The loops whose last poll came back empty: their consumer keeps fetching in the background (KAFKA-20015), so
     * a job may land in its buffer while it waits for the turn.
     */
    private final Set<Object> fetching = ConcurrentHashMap.newKeySet();

    /**
     * Waits for the device's turn.
     *
     * @return whether it was taken; false once {@code stopping} holds first
     */
    boolean take(BooleanSupplier stopping) {
        try {
            while (!stopping.getAsBoolean()) {
                if (turn.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    void give() {
        turn.release();
    }

    /** Records whether {@code loop}'s last poll came back empty (its consumer still fetching) or with records. */
    void fetching(Object loop, boolean emptyPoll) {
        if (emptyPoll) {
            fetching.add(loop);
        } else {
            fetching.remove(loop);
        }
    }

    /** Whether a loop other than {@code loop} may have a job in its buffer without the turn. */
    boolean othersFetching(Object loop) {
        for (Object other : fetching) {
            if (other != loop) {
                return true;
            }
        }
        return false;
    }

    /** Consumers waiting for the device's turn now (an estimate, as {@link Semaphore#getQueueLength}). */
    int waiting() {
        return turn.getQueueLength();
    }
}
