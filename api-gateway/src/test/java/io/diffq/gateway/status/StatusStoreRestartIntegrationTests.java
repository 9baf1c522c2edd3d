package io.diffq.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.kafka.JobKeys;
import io.diffq.testing.KafkaBrokerExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A gateway restarted on the status store it kept (issue 30): it shows every job as before, lists them as before,
 * and reads from the topics only what was written while it was down.
 */
class StatusStoreRestartIntegrationTests {

    private static final int PARTITIONS = 3;
    private static final int JOBS = 100;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    private final JobCodec codec = new JobCodec();

    @Test
    void aGatewayRestartedOnItsStoreShowsAndListsEveryJobAsBeforeAndReadsOnlyWhatItMissed() throws Exception {
        String brokers = kafka.bootstrapServers();
        String[] settings = {Gateway.SERVED_MODELS, "diffq.gateway.security.rate-limit.enabled=false",
                "diffq.gateway.status.dir=" + dir.resolve("status")};
        Map<String, JobStories.Story> stories = new LinkedHashMap<>();
        for (int i = 0; i < JOBS; i++) {
            stories.put(UUID.randomUUID().toString(), JobStories.Story.values()[i % JobStories.Story.values().length]);
        }
        long written = JOBS + stories.entrySet().stream()
                .mapToLong(e -> e.getValue().events(e.getKey(), Instant.EPOCH).size()).sum();

        Map<String, JsonNode> before = new HashMap<>();
        List<String> listedBefore;
        String waiting = stories.entrySet().stream().filter(e -> e.getValue() == JobStories.Story.WAITING)
                .findFirst().orElseThrow().getKey();
        try (KafkaProducer<String, byte[]> producer = JobStories.producer(brokers)) {
            try (Gateway gateway = Gateway.start(brokers, settings)) {
                JobStories.writeEveryRecord(producer, stories, PARTITIONS);
                await().atMost(Duration.ofSeconds(60)).until(() -> gateway.statusViewDetail("recordsRead") == written);
                stories.keySet().forEach(id -> before.put(id, JobStories.shown(gateway.api(), id)));
                listedBefore = listed(gateway.api(), "");
                assertThat(listedBefore).containsExactlyInAnyOrderElementsOf(stories.keySet());
                assertThat(listed(gateway.api(), "state=QUEUED&")).contains(waiting);
            }

            // While it is down: a waiting job runs and succeeds, and new jobs come and finish.
            Instant t = Instant.now();
            List<JobEvent> missed = new ArrayList<>(List.of(
                    JobEvent.running(waiting, 1, t, "w1", "simulated", new Progress(0, 4), t),
                    JobEvent.succeeded(waiting, 1, t, "w1", "simulated", new Progress(4, 4), 500,
                            new ResultRef(0, 3, "image/png", 100), t.plusSeconds(1))));
            Map<String, JobStories.Story> newer = new LinkedHashMap<>();
            for (int i = 0; i < 5; i++) {
                newer.put(UUID.randomUUID().toString(), JobStories.Story.SUCCEEDED);
            }
            missed.forEach(e -> producer.send(new ProducerRecord<>(Topics.JOB_EVENTS,
                    JobKeys.partition(e.jobId(), PARTITIONS), JobKeys.event(e), codec.writeEvent(e))));
            JobStories.writeEveryRecord(producer, newer, PARTITIONS);
            long writtenWhileDown = missed.size() + newer.size()
                    + newer.keySet().stream().mapToLong(id -> JobStories.Story.SUCCEEDED.events(id, t).size()).sum();

            try (Gateway restarted = Gateway.start(brokers, settings)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> restarted.statusViewDetail("recordsRead") >= writtenWhileDown);
                newer.keySet().forEach(id -> assertThat(
                        restarted.api().get("/v1/jobs/" + id).json().get("state").asString()).isEqualTo("SUCCEEDED"));
                assertThat(restarted.api().get("/v1/jobs/" + waiting).json().get("state").asString())
                        .isEqualTo("SUCCEEDED");
                List<String> mismatches = new ArrayList<>();
                stories.keySet().stream().filter(id -> !id.equals(waiting)).forEach(id -> {
                    JsonNode now = JobStories.shown(restarted.api(), id);
                    if (!now.equals(before.get(id))) {
                        mismatches.add(stories.get(id) + " " + id + ": before " + before.get(id) + ", after " + now);
                    }
                });
                assertThat(mismatches).as("jobs shown otherwise after a restart on the store").isEmpty();
                // The newer jobs first, then the same order as before; the job that ran moved from QUEUED.
                List<String> listed = listed(restarted.api(), "");
                assertThat(listed.subList(0, newer.size())).containsExactlyInAnyOrderElementsOf(newer.keySet());
                assertThat(listed.subList(newer.size(), listed.size())).isEqualTo(listedBefore);
                assertThat(listed(restarted.api(), "state=QUEUED&")).doesNotContain(waiting);
                assertThat(listed(restarted.api(), "state=SUCCEEDED&")).contains(waiting);
                assertThat(restarted.statusViewDetail("recordsRead")).as("records read after the restart").isEqualTo(writtenWhileDown);
            }
        }
    }

    /** Every job's id that {@code GET /v1/jobs} lists with the filter, page after page, in order. */
    private static List<String> listed(Api api, String filter) {
        List<String> ids = new ArrayList<>();
        String path = "/v1/jobs?" + filter + "limit=7";
        while (path != null) {
            JsonNode page = api.get(path).json();
            page.get("jobs").forEach(j -> ids.add(j.get("id").asString()));
            path = page.has("next") ? page.get("links").get("next").asString() : null;
        }
        return ids;
    }
}
