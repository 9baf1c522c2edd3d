package io.diffq.worker.consumer;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A device's turn: held from a loop's poll for new jobs until its model has drawn them. A device may have
 * several share consumers ({@code diffq.worker.consumers-per-device}); only the one holding the gate acquires
 * jobs, so no job is acquired ahead of the device, and one consumer's writes and acknowledgements overlap the
 * next consumer's acquisition and model run instead of standing between two jobs.
 */
final class DeviceGate {

    private final Semaphore turn = new Semaphore(1, true);

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

    /** Consumers waiting for the device's turn now (an estimate, as {@link Semaphore#getQueueLength}). */
    int waiting() {
        return turn.getQueueLength();
    }
}
