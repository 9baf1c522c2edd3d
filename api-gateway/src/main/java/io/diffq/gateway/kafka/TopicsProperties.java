package io.diffq.gateway.kafka;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How the diffq topics are created, under {@code diffq.topics}.
 *
 * @param partitions partitions of the jobs, events and results topics
 * @param replicas         replication factor (1 for a single local broker, 3 in production)
 * @param resultTtl        how long job events and images are kept
 * @param minInSyncReplicas the replicas that must have a write before it is acknowledged ({@code acks=all}):
 *                         unset, 2 when there are at least 3 replicas (one broker may be lost without losing
 *                         an acknowledged job, and a write with only one copy is refused with 503), else 1
 */
@ConfigurationProperties("diffq.topics")
public record TopicsProperties(
        @DefaultValue("12") int partitions,
        @DefaultValue("1") short replicas,
        @DefaultValue("24h") Duration resultTtl,
        Integer minInSyncReplicas) {

    public TopicsProperties {
        if (replicas < 1) {
            throw new IllegalArgumentException("diffq.topics.replicas must be at least 1, not " + replicas);
        }
        if (minInSyncReplicas == null) {
            minInSyncReplicas = replicas >= 3 ? 2 : 1;
        }
        if (minInSyncReplicas < 1 || minInSyncReplicas > replicas) {
            throw new IllegalArgumentException("diffq.topics.min-in-sync-replicas must be 1 to replicas ("
                    + replicas + "), not " + minInSyncReplicas);
        }
    }
}
