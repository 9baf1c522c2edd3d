package io.diffq.gateway.queue;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Settings of the queue monitor, under {@code diffq.queue}.
 *
 * @param monitorInterval how often lag, oldest wait and workers are read from Kafka
 */
@ConfigurationProperties("diffq.queue")
public record QueueProperties(@DefaultValue("5s") Duration monitorInterval) {
}
