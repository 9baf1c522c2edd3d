package io.diffq.gateway.queue;

import java.time.Duration;

/** The queue is past its bounds, or the job could not start before its deadline: try again later. */
public class OverloadedException extends RuntimeException {

    private final Duration retryAfter;

    public OverloadedException(String message, Duration retryAfter) {
        super(message);
        this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
