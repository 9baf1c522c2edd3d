package io.diffq.gateway.queue;

import java.time.Duration;

/** The client's API key has as many jobs waiting as its {@code max-waiting} allows: try again later. */
public class QuotaExceededException extends RuntimeException {

    private final Duration retryAfter;

    public QuotaExceededException(String message, Duration retryAfter) {
        super(message);
        this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
