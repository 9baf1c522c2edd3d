package io.diffq.worker.consumer;

/** The worker no longer surely holds the job's record ({@link Lease}): it stops the job and writes nothing more. */
class LeaseLostException extends RuntimeException {

    LeaseLostException(String message) {
        super(message, null, false, false);
    }
}
