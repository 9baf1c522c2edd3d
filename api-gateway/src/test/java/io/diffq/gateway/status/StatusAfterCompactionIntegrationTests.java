package io.diffq.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.kafka.TopicSpec;
import io.diffq.common.kafka.Topics;
import io.diffq.gateway.support.Gateway;
import io.diffq.kafka.JobKeys;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tools.jackson.databind.JsonNode;

/**
 * After the broker really compacted {@code diffq.job-events} (each finished job down to its last event), a
 * restarted gateway shows every job as it was before, whichever topic it happens to read first (issue 30).
 */
class StatusAfterCompactionIntegrationTests {

    /** As {@link Gateway} configures its topics. */
    private static final int PARTITIONS = 3;
    /** diffq.topics.job-partitions' default, as the gateway would create diffq.jobs. */
    private static final int JOB_PARTITIONS = 1;
    private static final int JOBS = 200;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @Test
    void aRestartedGatewayShowsEveryJobAsBeforeTheEventsWereCompacted() throws Exception {
        String brokers = kafka.bootstrapServers();
        cleanerLooksForWorkEvery100Ms();
        createTopicsEagerToCompact();
        Map<String, JobStories.Story> stories = new LinkedHashMap<>();
        for (int i = 0; i < JOBS; i++) {
            stories.put(UUID.randomUUID().toString(), JobStories.Story.values()[i % JobStories.Story.values().length]);
        }

        Map<String, JsonNode> before = new HashMap<>();
        try (Gateway gateway = Gateway.start(brokers, Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.enabled=false");
                KafkaProducer<String, byte[]> producer = JobStories.producer(brokers)) {
            JobStories.writeEveryRecord(producer, stories, PARTITIONS);
            // The live view, which read each job's whole history in order, is what the restarted one must match.
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> stories.forEach((id, story) ->
                    assertThat(gateway.api().get("/v1/jobs/" + id).json().get("state").asString()).as(id)
                            .isEqualTo(story.state)));
            stories.keySet().forEach(id -> before.put(id, JobStories.shown(gateway.api(), id)));

            // Only now may segments roll, so that the live view above read the full history.
            rollSegmentsEvery(Duration.ofMillis(100));
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
                rollActiveSegments(producer);
                Map<String, Integer> left = eventsPerJob(brokers);
                // The last event of each attempt: its key (JobKeys.event) is the job id, or the id and the attempt.
                stories.forEach((id, story) -> assertThat(left.getOrDefault(id, 0)).as("events of %s (%s) left", id,
                        story).isEqualTo((int) story.events(id, Instant.EPOCH).stream()
                                .map(JobKeys::event).distinct().count()));
            });
        }

        try (Gateway restarted = Gateway.start(brokers, Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.enabled=false")) {
            List<String> mismatches = new ArrayList<>();
            stories.forEach((id, story) -> {
                JsonNode now = JobStories.shown(restarted.api(), id);
                if (!now.equals(before.get(id))) {
                    mismatches.add(story + " " + id + ": before " + before.get(id) + ", after " + now);
                }
            });
            assertThat(mismatches).as("jobs shown otherwise after compaction and a restart").isEmpty();
        }
    }

    /**
     * The cleaner looks for work every 100 ms instead of every 15 s: a dynamic setting of every broker (the
     * cluster-wide default), so the test broker keeps the one set of settings it is started with.
     */
    private static void cleanerLooksForWorkEvery100Ms() {
        withAdmin(admin -> admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.BROKER, ""),
                List.of(new AlterConfigOp(new ConfigEntry("log.cleaner.backoff.ms", "100"),
                        AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS));
    }

    /** Runs {@code action} with an admin client of the test broker. */
    private static void withAdmin(AdminAction action) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            action.run(admin);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @FunctionalInterface
    private interface AdminAction {
        void run(Admin admin) throws Exception;
    }

    /**
     * The topics as the gateway creates them, the events topic with a cleaner that takes any dirty segment and
     * drops tombstones at once. Its active segment does not roll yet: nothing is compacted before
     * {@link #rollSegmentsEvery}.
     */
    private static void createTopicsEagerToCompact() {
        List<NewTopic> topics = TopicSpec.all(JOB_PARTITIONS, PARTITIONS, Duration.ofDays(1)).stream().map(spec -> {
            Map<String, String> configs = new HashMap<>(spec.configs());
            if (spec.name().equals(Topics.JOB_EVENTS)) {
                configs.put("min.cleanable.dirty.ratio", "0.01");
                configs.put("delete.retention.ms", "100");
            }
            return new NewTopic(spec.name(), spec.partitions(), (short) 1).configs(configs);
        }).toList();
        withAdmin(admin -> admin.createTopics(topics).all().get(30, TimeUnit.SECONDS));
    }

    private static void rollSegmentsEvery(Duration d) {
        ConfigResource events = new ConfigResource(ConfigResource.Type.TOPIC, Topics.JOB_EVENTS);
        withAdmin(admin -> admin.incrementalAlterConfigs(Map.of(events, List.of(new AlterConfigOp(
                new ConfigEntry("segment.ms", String.valueOf(d.toMillis())), AlterConfigOp.OpType.SET))))
                .all().get(30, TimeUnit.SECONDS));
    }

    /** A tombstone of a key no job has in each partition: the cleaner never touches a partition's active segment. */
    private static void rollActiveSegments(KafkaProducer<String, byte[]> producer) throws Exception {
        for (int p = 0; p < PARTITIONS; p++) {
            producer.send(new ProducerRecord<>(Topics.JOB_EVENTS, p, "segment-roller-" + p, null))
                    .get(30, TimeUnit.SECONDS);
        }
    }

    /** How many events of each job {@code diffq.job-events} holds, read from its beginning. */
    private static Map<String, Integer> eventsPerJob(String brokers) {
        Map<String, Integer> count = new HashMap<>();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                partitions.add(new TopicPartition(Topics.JOB_EVENTS, p));
            }
            c.assign(partitions);
            c.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = c.endOffsets(partitions);
            while (partitions.stream().anyMatch(tp -> c.position(tp) < ends.get(tp))) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.value() != null) {
                        count.merge(JobKeys.jobId(r.key()), 1, Integer::sum);
                    }
                }
            }
        }
        return count;
    }
}
