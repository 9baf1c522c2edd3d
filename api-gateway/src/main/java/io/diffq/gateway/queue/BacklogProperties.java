package io.diffq.gateway.queue;

import java.time.Duration;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How the backlog in worker-seconds is estimated before any job of a model has finished, under
 * {@code diffq.gateway.backlog}.
 *
 * @param defaultServiceTime  device time per job assumed for a model until one of its jobs finished since this
 *                            gateway started (a fresh gateway, a fleet scaled to zero)
 * @param defaultServiceTimes the same per model, where one differs (e.g. {@code sd: 12s}, {@code tiny: 400ms})
 */
@ConfigurationProperties("diffq.gateway.backlog")
public record BacklogProperties(
        @DefaultValue("5s") Duration defaultServiceTime,
        Map<String, Duration> defaultServiceTimes) {

    public BacklogProperties {
        defaultServiceTimes = defaultServiceTimes == null ? Map.of() : Map.copyOf(defaultServiceTimes);
        if (defaultServiceTime.isZero() || defaultServiceTime.isNegative()) {
            throw new IllegalArgumentException("diffq.gateway.backlog.default-service-time must be positive, not "
                    + defaultServiceTime);
        }
        defaultServiceTimes.forEach((model, t) -> {
            if (t.isZero() || t.isNegative()) {
                throw new IllegalArgumentException("diffq.gateway.backlog.default-service-times." + model
                        + " must be positive, not " + t);
            }
        });
    }

    /** The device time per job assumed for {@code model} while none of its jobs has been measured. */
    public Duration defaultFor(String model) {
        return defaultServiceTimes.getOrDefault(model, defaultServiceTime);
    }
}
