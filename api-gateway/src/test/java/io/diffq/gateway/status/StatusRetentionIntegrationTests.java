package io.diffq.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.testing.KafkaBrokerExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Retention as promised (issue 30): a finished job stays readable for {@code status-retention}, then is gone from
 * the view, its lists, its counts and its store (a restart on the same directory does not bring it back); a job
 * not finished is never dropped.
 */
class StatusRetentionIntegrationTests {

    private static final int PARTITIONS = 3;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    @Test
    void aFinishedJobIsGoneAfterTheRetentionFromTheViewTheListsTheCountsAndTheStoreAndAWaitingOneStays()
            throws Exception {
        String brokers = kafka.bootstrapServers();
        String[] settings = {Gateway.SERVED_MODELS, "diffq.gateway.security.rate-limit.enabled=false",
                "diffq.gateway.status-retention=8s", "diffq.gateway.status.dir=" + dir.resolve("status")};
        Map<String, JobStories.Story> stories = new LinkedHashMap<>();
        for (JobStories.Story story : List.of(JobStories.Story.SUCCEEDED, JobStories.Story.FAILED,
                JobStories.Story.CANCELED_BEFORE_START, JobStories.Story.WAITING)) {
            stories.put(UUID.randomUUID().toString(), story);
        }
        List<String> finished = new ArrayList<>(stories.keySet()).subList(0, 3);
        String waiting = new ArrayList<>(stories.keySet()).get(3);

        try (KafkaProducer<String, byte[]> producer = JobStories.producer(brokers)) {
            try (Gateway gateway = Gateway.start(brokers, settings)) {
                JobStories.writeEveryRecord(producer, stories, PARTITIONS);
                // Readable while within the retention (the stories end a few seconds after they are written).
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> stories.forEach((id, story) ->
                        assertThat(gateway.api().get("/v1/jobs/" + id).json().get("state").asString()).as(id)
                                .isEqualTo(story.state)));
                assertThat(listed(gateway.api())).containsExactlyInAnyOrderElementsOf(stories.keySet());
                assertThat(succeededCount(gateway)).isEqualTo(1);

                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> finished.forEach(id ->
                        assertThat(gateway.api().get("/v1/jobs/" + id).status()).as(id).isEqualTo(404)));
                assertThat(gateway.api().get("/v1/jobs/" + waiting).json().get("state").asString())
                        .isEqualTo("QUEUED");
                assertThat(listed(gateway.api())).containsExactly(waiting);
                assertThat(succeededCount(gateway)).isZero();
            }
            try (Gateway restarted = Gateway.start(brokers, settings)) {
                finished.forEach(id -> assertThat(restarted.api().get("/v1/jobs/" + id).status()).as(id)
                        .isEqualTo(404));
                assertThat(restarted.api().get("/v1/jobs/" + waiting).json().get("state").asString())
                        .isEqualTo("QUEUED");
                assertThat(listed(restarted.api())).containsExactly(waiting);
                assertThat(restarted.statusViewDetail("jobs")).isEqualTo(1);
            }
        }
    }

    private static long succeededCount(Gateway gateway) {
        String metrics = gateway.managementApi().get("/actuator/prometheus").text();
        return metrics.lines().filter(l -> l.startsWith("diffq_jobs_in_state{") && l.contains("state=\"SUCCEEDED\""))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private static List<String> listed(Api api) {
        List<String> ids = new ArrayList<>();
        JsonNode page = api.get("/v1/jobs?limit=100").json();
        page.get("jobs").forEach(j -> ids.add(j.get("id").asString()));
        return ids;
    }
}
