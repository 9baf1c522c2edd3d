package io.diffq.gateway.jobs;

import java.time.Duration;

/** A client, or the gateway instance, holds as many open event streams as it may: {@code 429}. */
public class TooManyStreamsException extends RuntimeException {

    private final Duration retryAfter;

    TooManyStreamsException(String message, Duration retryAfter) {
        super(message);
        this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
