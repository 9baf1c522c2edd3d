package io.diffq.gateway.jobs;

/** An {@code Idempotency-Key} already used for a different request. */
public class IdempotencyConflictException extends RuntimeException {

    public IdempotencyConflictException(String jobId) {
        super("this Idempotency-Key was already used for a different request (job " + jobId
                + "); use a new key for a new job");
    }
}
