package io.diffq.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.gateway.support.Gateway;
import io.diffq.testing.KafkaBrokerExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A brand-new gateway (an empty status store: a new replica, a lost volume) reads the topics from the start of
 * the retention window, not from their beginning: {@code diffq.jobs} keeps a week, and a job submitted before
 * the window is not shown anyway (issue 30, "a brand-new gateway becomes ready in a bounded time").
 */
class StatusBootstrapIntegrationTests {

    private static final int PARTITIONS = 3;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    @Test
    void aNewGatewayReadsOnlyTheRetentionWindowAndShowsEveryJobInIt() throws Exception {
        String brokers = kafka.bootstrapServers();
        Map<String, JobStories.Story> old = new LinkedHashMap<>();
        for (int i = 0; i < 40; i++) {
            old.put(UUID.randomUUID().toString(), i % 2 == 0 ? JobStories.Story.SUCCEEDED : JobStories.Story.FAILED);
        }
        Map<String, JobStories.Story> recent = new LinkedHashMap<>();
        for (JobStories.Story story : List.of(JobStories.Story.SUCCEEDED, JobStories.Story.CANCELED_WHILE_RUNNING,
                JobStories.Story.RUNNING_AGAIN, JobStories.Story.WAITING)) {
            recent.put(UUID.randomUUID().toString(), story);
        }
        try (Gateway first = Gateway.start(brokers, settings("first"));
                KafkaProducer<String, byte[]> producer = JobStories.producer(brokers)) {
            // Two hours ago, with a one-hour retention: before the window. Then four jobs of now.
            JobStories.writeEveryRecordAsOf(producer, old, PARTITIONS, Instant.now().minus(Duration.ofHours(2)));
            JobStories.writeEveryRecordAsOf(producer, recent, PARTITIONS, Instant.now());
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> recent.forEach((id, story) ->
                    assertThat(first.api().get("/v1/jobs/" + id).json().get("state").asString()).as(id)
                            .isEqualTo(story.state)));
        }
        long recentRecords = 4 + recent.values().stream().mapToLong(s -> s.events("x", Instant.now()).size()).sum();

        try (Gateway fresh = Gateway.start(brokers, settings("fresh"))) {
            recent.forEach((id, story) -> assertThat(fresh.api().get("/v1/jobs/" + id).json().get("state")
                    .asString()).as(id).isEqualTo(story.state));
            old.keySet().forEach(id -> assertThat(fresh.api().get("/v1/jobs/" + id).status()).as(id).isEqualTo(404));
            // The old jobs' 40 requests and 120 events were not read; at most the recent ones (and controls).
            assertThat(fresh.statusViewDetail("recordsRead")).isBetween(recentRecords, recentRecords + 5);
        }
    }

    private String[] settings(String name) {
        return new String[] {Gateway.SERVED_MODELS, "diffq.gateway.security.rate-limit.enabled=false",
                "diffq.gateway.status-retention=1h",
                "diffq.gateway.status.dir=" + dir.resolve(name)};
    }
}
