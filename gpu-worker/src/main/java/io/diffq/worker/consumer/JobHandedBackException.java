package io.diffq.worker.consumer;

/** The worker is shutting down and its grace period is over: the job goes back to the group unfinished. */
class JobHandedBackException extends RuntimeException {

    JobHandedBackException() {
        super("handed back on shutdown", null, false, false);
    }
}
