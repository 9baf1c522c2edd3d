package io.diffq.gateway.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.kafka.Topics;
import io.diffq.gateway.support.Gateway;
import io.diffq.testing.KafkaBrokerExtension;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The gateway creates {@code diffq.jobs} with {@code diffq.topics.job-partitions} (1 by default) and the other
 * per-job topics with {@code diffq.topics.partitions}, on a real broker. An existing topic is not shrunk; a
 * larger count than it has adds partitions at the next start (Spring's {@code KafkaAdmin}), which
 * docs/operations.md describes for {@code diffq.jobs}.
 */
class TopicCreationIntegrationTests {

    private static final List<String> ALL = List.of(Topics.JOBS, Topics.JOB_EVENTS, Topics.RESULTS,
            Topics.WEBHOOKS, Topics.JOB_CONTROLS, Topics.JOBS_DLT, Topics.MODELS, Topics.POOLS, Topics.DISPATCH);

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @Test
    void jobsGetsTheJobPartitionsAndTheOtherPerJobTopicsThePartitions() throws Exception {
        // Gateway.start sets diffq.topics.partitions=3 and leaves diffq.topics.job-partitions at its default.
        try (Gateway gateway = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS)) {
            assertThat(partitionCounts()).isEqualTo(new TreeMap<>(Map.of(
                    Topics.JOBS, 1,
                    Topics.JOB_EVENTS, 3,
                    Topics.RESULTS, 3,
                    Topics.WEBHOOKS, 3,
                    Topics.JOB_CONTROLS, 1,
                    Topics.JOBS_DLT, 1,
                    Topics.MODELS, 1,
                    Topics.POOLS, 1,
                    Topics.DISPATCH, 1)));
        }

        // A gateway asking for more job partitions adds them to the existing diffq.jobs, and to it alone.
        try (Gateway gateway = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.topics.job-partitions=2")) {
            Map<String, Integer> counts = partitionCounts();
            assertThat(counts).containsEntry(Topics.JOBS, 2)
                    .containsEntry(Topics.JOB_EVENTS, 3)
                    .containsEntry(Topics.RESULTS, 3)
                    .containsEntry(Topics.WEBHOOKS, 3);
        }

        // Back to the default of 1: diffq.jobs keeps its 2 (partitions cannot be removed).
        try (Gateway gateway = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS)) {
            assertThat(partitionCounts()).containsEntry(Topics.JOBS, 2);
        }
    }

    private static Map<String, Integer> partitionCounts() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers()))) {
            Map<String, TopicDescription> described = admin.describeTopics(ALL).allTopicNames()
                    .get(30, TimeUnit.SECONDS);
            Map<String, Integer> counts = new TreeMap<>();
            described.forEach((name, d) -> counts.put(name, d.partitions().size()));
            return counts;
        }
    }
}
