package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.kafka.JobKeys;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ShareMemberDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A worker with two share consumers on its one device, against a real broker, on the {@code simulated} model (a
 * load test of the queue): both join the group under the device's client id, both acquire jobs, taking turns on
 * the device, and every job runs once and ends once.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "diffq.worker.id=two-consumers",
        "diffq.worker.models=simulated",
        "diffq.worker.consumers-per-device=2",
        "diffq.worker.simulated.latency=50ms"})
@DirtiesContext
class ConsumersPerDeviceIntegrationTests {

    private static final int JOBS = 40;
    private static final Pattern CONSUMED = Pattern.compile(
            "(?m)^kafka_consumer_share_fetch_manager_records_consumed_total\\{[^}]*client_id=\"([^\"]+)\"[^}]*} (\\S+)$");

    @RegisterExtension
    static final KafkaBrokerExtension kafka = WorkerKafka.broker(1);

    @DynamicPropertySource
    static void kafka(DynamicPropertyRegistry registry) {
        registry.add("spring.kafka.bootstrap-servers", kafka::bootstrapServers);
    }

    @LocalServerPort
    int port;

    private final JobCodec codec = new JobCodec();

    @Test
    void bothConsumersOfTheDeviceTakeJobsAndEveryJobRunsOnceAndEndsOnce() throws Exception {
        List<JobRequest> jobs = new ArrayList<>();
        try (KafkaProducer<String, byte[]> producer = WorkerKafka.producer(kafka.bootstrapServers(), Map.of())) {
            for (int i = 0; i < JOBS; i++) {
                JobRequest r = new JobRequest(UUID.randomUUID().toString(), "picture " + i, "", 32, 32, 4, 7.5, i,
                        "simulated", null, Instant.now(), null, null);
                jobs.add(r);
                producer.send(new ProducerRecord<>(Topics.JOBS, r.id(), codec.writeRequest(r)));
            }
            producer.flush();
        }

        Map<String, List<JobEvent>> events = new HashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = WorkerKafka.consumer(kafka.bootstrapServers())) {
            consumer.subscribe(List.of(Topics.JOB_EVENTS));
            await().atMost(Duration.ofSeconds(90)).until(() -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    events.computeIfAbsent(JobKeys.jobId(r.key()), k -> new ArrayList<>())
                            .add(codec.readEvent(r.value()));
                }
                return jobs.stream().allMatch(j -> events.getOrDefault(j.id(), List.of()).stream()
                        .anyMatch(e -> e.state().isTerminal()));
            });
        }
        for (JobRequest r : jobs) {
            List<JobEvent> own = events.get(r.id());
            assertThat(own).as(r.prompt()).filteredOn(e -> e.state().isTerminal()).extracting(JobEvent::state)
                    .containsExactly(JobState.SUCCEEDED);
            assertThat(own).as(r.prompt()).extracting(JobEvent::attempt).containsOnly(1);
            assertThat(own).as(r.prompt()).filteredOn(e -> e.state() == JobState.RUNNING && e.progress() != null
                    && e.progress().step() == 0).as("runs of " + r.prompt()).hasSize(1);
        }

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            List<String> members = admin.describeShareGroups(List.of(Topics.WORKER_GROUP)).all().get()
                    .get(Topics.WORKER_GROUP).members().stream().map(ShareMemberDescription::clientId).sorted()
                    .toList();
            assertThat(members).containsExactly("two-consumers-cpu", "two-consumers-cpu+2");
            assertThat(members.stream().map(Topics::workerDevice).distinct()).containsExactly("two-consumers-cpu");
        }
        Map<String, Double> consumed = new HashMap<>();
        Matcher m = CONSUMED.matcher(WorkerKafka.scrape(port));
        while (m.find()) {
            consumed.merge(m.group(1), Double.parseDouble(m.group(2)), Double::sum);
        }
        assertThat(consumed).as("records each consumer acquired").containsOnlyKeys("two-consumers-cpu",
                "two-consumers-cpu+2");
        assertThat(consumed.values()).allMatch(n -> n > 0);
        // The client counts a fetch's records once a later poll finds it drained. The consumer holding the idle
        // device's turn keeps polling; the other waits for the turn without polling, so its last fetch (one record,
        // max-batch 1) may not be counted yet. Each job ran once (above), so no record was acquired twice.
        assertThat(consumed.values().stream().mapToDouble(Double::doubleValue).sum()).isBetween(JOBS - 1.0, JOBS * 1.0);
    }
}
