package io.diffq.gateway.queue;

import java.time.Duration;

/** The client's API key has as many jobs waiting as its {@code max-waiting} allows: try again later. */
public class QuotaExceededException extends OverloadedException {

    public QuotaExceededException(String message, Duration retryAfter) {
        super(message, retryAfter);
    }
}
