package io.diffq.gateway.queue;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * When the gateway stops accepting jobs, under {@code diffq.gateway.backpressure}.
 *
 * @param maxOldestWait        refuse new jobs while the oldest waiting job is older than this
 * @param maxLag               refuse new jobs while more than this many wait
 * @param retryAfterWhenIdle   {@code Retry-After} when nothing finished recently to estimate from
 * @param maxRetryAfter        the longest {@code Retry-After} given
 */
@ConfigurationProperties("diffq.gateway.backpressure")
public record BackpressureProperties(
        @DefaultValue("5m") Duration maxOldestWait,
        @DefaultValue("10000") long maxLag,
        @DefaultValue("30s") Duration retryAfterWhenIdle,
        @DefaultValue("10m") Duration maxRetryAfter) {
}
