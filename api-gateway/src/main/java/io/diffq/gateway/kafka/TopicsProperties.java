package io.diffq.gateway.kafka;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How the diffq topics are created, under {@code diffq.topics}.
 *
 * @param partitions partitions of the jobs, events and results topics
 * @param replicas   replication factor (1 for a single local broker, 3 in production)
 * @param resultTtl  how long job events and images are kept
 */
@ConfigurationProperties("diffq.topics")
public record TopicsProperties(
        @DefaultValue("12") int partitions,
        @DefaultValue("1") short replicas,
        @DefaultValue("24h") Duration resultTtl) {
}
