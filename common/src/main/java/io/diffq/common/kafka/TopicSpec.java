package io.diffq.common.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * How a diffq topic is created. The gateway creates missing topics from these specs at start-up, with the
 * right partitions and configs (never the broker's auto-created defaults); workers wait for them.
 *
 * @param name       the topic
 * @param partitions its partition count
 * @param configs    topic-level configs
 */
public record TopicSpec(String name, int partitions, Map<String, String> configs) {

    /**
     * The diffq topics, with {@code diffq.jobs} at the same partition count as the other per-job topics.
     *
     * @param partitions partitions of every per-job topic, {@code diffq.jobs} included
     * @param resultTtl  how long job events and images are kept
     * @see #all(int, int, Duration)
     */
    public static List<TopicSpec> all(int partitions, Duration resultTtl) {
        return all(partitions, partitions, resultTtl);
    }

    /**
     * The diffq topics.
     *
     * @param jobPartitions partitions of {@code diffq.jobs}. Workers of a share group (KIP-932) share its
     *                      partitions, so they do not bound the workers; they bound head-of-line waiting
     *                      (with fewer members than partitions the broker gives each partition to one member
     *                      alone), and one partition serves any number of workers
     * @param partitions    partitions of the other per-job topics: events, results and webhooks
     * @param resultTtl     how long job events and images are kept
     */
    public static List<TopicSpec> all(int jobPartitions, int partitions, Duration resultTtl) {
        if (jobPartitions < 1) {
            throw new IllegalArgumentException("job partitions must be at least 1, not " + jobPartitions);
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be at least 1, not " + partitions);
        }
        String ttl = String.valueOf(resultTtl.toMillis());
        return List.of(
                new TopicSpec(Topics.JOBS, jobPartitions, Map.of(
                        "cleanup.policy", "delete",
                        "retention.ms", String.valueOf(jobsRetention(resultTtl)))),
                new TopicSpec(Topics.JOB_EVENTS, partitions, Map.of(
                        "cleanup.policy", "compact,delete",
                        "retention.ms", ttl)),
                new TopicSpec(Topics.RESULTS, partitions, Map.of(
                        "cleanup.policy", "delete",
                        "retention.ms", ttl,
                        "max.message.bytes", String.valueOf(Topics.MAX_RESULT_BYTES + 64 * 1024))),
                new TopicSpec(Topics.JOB_CONTROLS, 1, Map.of(
                        "cleanup.policy", "compact,delete",
                        "retention.ms", ttl)),
                new TopicSpec(Topics.JOBS_DLT, 1, Map.of(
                        "cleanup.policy", "delete",
                        "retention.ms", String.valueOf(Duration.ofDays(14).toMillis()))),
                // The webhook outbox: deliveries due and their retries; kept longer than any retry horizon needs.
                new TopicSpec(Topics.WEBHOOKS, partitions, Map.of(
                        "cleanup.policy", "delete",
                        "retention.ms", String.valueOf(Duration.ofDays(7).toMillis()))),
                // Compaction only, no time-based deletion: a model's card stays until a newer one or a tombstone.
                new TopicSpec(Topics.MODELS, 1, Map.of(
                        "cleanup.policy", "compact")),
                // Likewise a pool's declaration: which models its workers serve.
                new TopicSpec(Topics.POOLS, 1, Map.of(
                        "cleanup.policy", "compact")),
                // Nothing is written to the lease's topic: its partition is only held.
                new TopicSpec(Topics.DISPATCH, 1, Map.of(
                        "cleanup.policy", "delete",
                        "retention.ms", String.valueOf(Duration.ofHours(1).toMillis()))));
    }

    /**
     * A worker pool's lane ({@link Topics#lane}): one partition (its workers share it in the lane share group,
     * so it bounds no worker count), kept as long as {@code diffq.jobs}, which holds the same requests.
     *
     * @param resultTtl how long job events and images are kept
     */
    public static TopicSpec lane(String pool, Duration resultTtl) {
        return new TopicSpec(Topics.lane(pool), 1, Map.of(
                "cleanup.policy", "delete",
                "retention.ms", String.valueOf(jobsRetention(resultTtl))));
    }

    private static long jobsRetention(Duration resultTtl) {
        return Math.max(resultTtl.toMillis(), Duration.ofDays(7).toMillis());
    }
}
