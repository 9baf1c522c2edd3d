package io.diffq.gateway.jobs;

/**
 * A request with an {@code Idempotency-Key} was stored, but the gateway could not read {@code diffq.jobs}
 * back far enough to tell whether it or an earlier request with the same key is the job: {@code 503}. Sent
 * again with the same key, it is answered from what is stored.
 */
public class IdempotencyUndecidedException extends RuntimeException {

    IdempotencyUndecidedException(String id) {
        super("job " + id + " was stored, but this gateway could not read it back in time to tell whether an "
                + "earlier request with the same Idempotency-Key is the job; send it again with the same key");
    }
}
