package io.diffq.gateway.kafka;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How the diffq topics are created, under {@code diffq.topics}.
 *
 * @param partitions       partitions of the events, results and webhooks topics (not {@code diffq.jobs})
 * @param replicas         replication factor (1 for a single local broker, 3 in production)
 * @param resultTtl        how long job events and images are kept
 * @param minInSyncReplicas the replicas that must have a write before it is acknowledged ({@code acks=all}):
 *                         unset, 2 when there are at least 3 replicas (one broker may be lost without losing
 *                         an acknowledged job, and a write with only one copy is refused with 503), else 1
 * @param jobPartitions    partitions of {@code diffq.jobs}. 1 by default: the workers' share group
 *                         (KIP-932) lets any number of workers take jobs from one partition, and with more
 *                         partitions than workers the broker gives each partition to one worker, so a job
 *                         waits for "its" worker while others idle (docs/operations.md, "Partitions of
 *                         diffq.jobs")
 */
@ConfigurationProperties("diffq.topics")
public record TopicsProperties(
        @DefaultValue("12") int partitions,
        @DefaultValue("1") short replicas,
        @DefaultValue("24h") Duration resultTtl,
        Integer minInSyncReplicas,
        @DefaultValue("1") int jobPartitions) {

    public TopicsProperties {
        if (partitions < 1) {
            throw new IllegalArgumentException("diffq.topics.partitions must be at least 1, not " + partitions);
        }
        if (jobPartitions < 1) {
            throw new IllegalArgumentException("diffq.topics.job-partitions must be at least 1, not "
                    + jobPartitions);
        }
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

    /**
     * Refuses a status retention longer than the topics keep a job's events and image ({@code result-ttl}): a
     * gateway reading the topics anew would find such a job's request ({@code diffq.jobs} keeps at least 7 days)
     * without its events and show a finished job as {@code QUEUED}, counted in the backlog; and its image would be
     * gone while its status still said {@code SUCCEEDED}.
     */
    public void checkStatusRetention(Duration statusRetention) {
        if (statusRetention.compareTo(resultTtl) > 0) {
            throw new IllegalArgumentException("diffq.gateway.status-retention (" + statusRetention
                    + ") is longer than diffq.topics.result-ttl (" + resultTtl + "), how long job events and images"
                    + " are kept: a new gateway would show the jobs finished between the two as QUEUED. Keep"
                    + " status-retention at most result-ttl");
        }
    }
}
