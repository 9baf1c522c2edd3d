package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobFailure;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Headers;
import io.diffq.common.kafka.Topics;
import io.diffq.kafka.JobKeys;
import io.diffq.testing.KafkaBrokerExtension;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The worker against a real broker: what it reads, writes and commits for good, failing and broken jobs. */
@Tag("abuse")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "diffq.worker.id=test-worker",
        "diffq.worker.models=simulated",
        "diffq.worker.simulated.latency=50ms",
        "diffq.worker.simulated.fail-pattern=explode"})
@DirtiesContext
class JobProcessingIntegrationTests {

    @RegisterExtension
    static final KafkaBrokerExtension kafka = WorkerKafka.broker(3);

    @DynamicPropertySource
    static void kafka(DynamicPropertyRegistry registry) {
        registry.add("spring.kafka.bootstrap-servers", kafka::bootstrapServers);
    }

    @LocalServerPort
    int port;

    private final JobCodec codec = new JobCodec();

    @Test
    void everyJobEndsInOneTerminalStateAndItsRecordIsAcceptedAfterwards() throws Exception {
        JobRequest ok1 = job("a red circle", 64, 32, "simulated");
        JobRequest ok2 = job("a blue square", 16, 24, "simulated");
        JobRequest failing = job("please explode", 32, 32, "simulated");
        JobRequest unsupported = job("fine", 32, 32, "sdxl");
        String malformedId = UUID.randomUUID().toString();
        // Records repeating ok1's id (concurrent submits with one Idempotency-Key): a different body whose
        // deadline has passed, and the same body. The first record is the job; the repeats never run.
        JobRequest repeatExpired = new JobRequest(ok1.id(), "another body", "", 8, 8, 4, 7.5, 1, "simulated", null,
                Instant.now(), Instant.now().minusSeconds(1), "fingerprint of another body");
        try (KafkaProducer<String, byte[]> producer = producer()) {
            for (JobRequest r : List.of(ok1, ok2, repeatExpired, failing, unsupported, ok1)) {
                producer.send(new ProducerRecord<>(Topics.JOBS, r.id(), codec.writeRequest(r))).get();
            }
            producer.send(new ProducerRecord<>(Topics.JOBS, malformedId,
                    "{not json".getBytes(StandardCharsets.UTF_8))).get();
        }

        Map<String, List<JobEvent>> events = new ConcurrentHashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = consumer()) {
            consumer.subscribe(List.of(Topics.JOB_EVENTS));
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    JobEvent e = codec.readEvent(r.value());
                    // Each attempt under its own key, so that compaction keeps every attempt's last event.
                    assertThat(r.key()).isEqualTo(JobKeys.event(e));
                    events.computeIfAbsent(e.jobId(), k -> new ArrayList<>()).add(e);
                }
                // Records are accepted after their terminal events: once all seven are, every event is written.
                assertThat(events).hasSize(5);
                assertThat(events.values()).allMatch(l -> l.get(l.size() - 1).state().isTerminal());
                assertThat(committedJobs()).isEqualTo(7);
            });
        }

        Map<String, JobStatus> folded = new HashMap<>();
        for (JobRequest r : List.of(ok1, ok2, failing, unsupported)) {
            JobStatus s = JobStatus.queued(r);
            for (JobEvent e : events.get(r.id())) {
                s = s.apply(e); // throws on any transition the table forbids
            }
            folded.put(r.id(), s);
            assertThat(events.get(r.id()).get(0).state()).isEqualTo(JobState.RUNNING);
            assertThat(events.get(r.id()).get(0).worker()).isEqualTo("test-worker/cpu");
        }

        assertThat(folded.get(ok1.id()).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(events.get(ok1.id())).filteredOn(e -> e.state().isTerminal()).hasSize(1);
        assertThat(events.get(ok1.id())).filteredOn(e -> e.state() == JobState.RUNNING)
                .extracting(JobEvent::attempt).containsOnly(1);
        assertThat(folded.get(ok2.id()).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(folded.get(ok1.id()).inferenceMillis()).isGreaterThanOrEqualTo(40);
        assertPng(folded.get(ok1.id()), 64, 32);
        assertPng(folded.get(ok2.id()), 16, 24);

        // A model error that may be transient is retried: three attempts, then FAILED and dead-lettered.
        assertThat(folded.get(failing.id()).state()).isEqualTo(JobState.FAILED);
        assertThat(folded.get(failing.id()).attempt()).isEqualTo(3);
        assertThat(folded.get(failing.id()).failure().type()).isEqualTo("model-error");
        assertThat(folded.get(failing.id()).failure().message()).contains("attempt 3 of 3");
        assertThat(folded.get(unsupported.id()).failure().type()).isEqualTo("unsupported-model");
        assertThat(folded.get(unsupported.id()).failure().message()).contains("sdxl");

        List<JobEvent> broken = events.get(malformedId);
        assertThat(broken.get(broken.size() - 1).state()).isEqualTo(JobState.FAILED);
        assertThat(broken.get(broken.size() - 1).failure().type()).isEqualTo("malformed-request");
        Map<String, ConsumerRecord<String, byte[]>> dlt = deadLetters(2);
        assertThat(dlt).containsKeys(malformedId, failing.id());
        assertThat(codec.readRequest(dlt.get(failing.id()).value())).isEqualTo(failing);
        JobFailure dead = codec.readFailure(dlt.get(failing.id()).headers().lastHeader(Headers.FAILURE).value());
        assertThat(dead.type()).isEqualTo("model-error");
        assertThat(dead.retryable()).isFalse();

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(committedJobs()).isEqualTo(7));

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(scrape())
                .contains("diffq_jobs_completed_total{application=\"diffq-worker\",model=\"simulated\",state=\"SUCCEEDED\"} 2.0")
                .contains("diffq_jobs_completed_total{application=\"diffq-worker\",model=\"simulated\",state=\"FAILED\"} 1.0")
                .contains("diffq_jobs_completed_total{application=\"diffq-worker\",model=\"sdxl\",state=\"FAILED\"} 1.0")
                .contains("diffq_job_inference_seconds_count{application=\"diffq-worker\",gpu=\"cpu\",model=\"simulated\"} 2")
                .contains("diffq_job_queue_wait_seconds_bucket{application=\"diffq-worker\",model=\"simulated\",le=\"600.0\"} 3")
                .contains("diffq_job_e2e_seconds_bucket{application=\"diffq-worker\",model=\"simulated\",state=\"SUCCEEDED\",le=\"600.0\"} 2")
                // The share consumer's own client metrics: it took the seven records and the failing job's two
                // redeliveries.
                .containsPattern("kafka_consumer_share_fetch_manager_records_consumed_total\\{[^}]*client_id=\"test-worker-cpu\"[^}]*} 9.0"));
        // All five were queued before the first ran: every model start after the first had work waiting, and
        // each gap (attempt bookkeeping, RUNNING, the next poll; a retry's 1 s back-off) stays under 5 s.
        String metrics = scrape();
        java.util.regex.Matcher gaps = java.util.regex.Pattern.compile(
                "diffq_worker_idle_gap_seconds_count\\{application=\"diffq-worker\",gpu=\"cpu\"} (\\d+)")
                .matcher(metrics);
        assertThat(gaps.find()).as("the idle-gap histogram").isTrue();
        assertThat(Integer.parseInt(gaps.group(1))).isGreaterThanOrEqualTo(3);
        assertThat(metrics).contains(
                "diffq_worker_idle_gap_seconds_bucket{application=\"diffq-worker\",gpu=\"cpu\",le=\"5.0\"} "
                        + gaps.group(1));
    }

    private void assertPng(JobStatus s, int width, int height) throws Exception {
        ConsumerRecord<String, byte[]> r = WorkerKafka.fetch(kafka.bootstrapServers(), Topics.RESULTS,
                s.result().partition(), s.result().offset());
        assertThat(r.key()).isEqualTo(s.id());
        assertThat(new String(r.headers().lastHeader(Headers.CONTENT_TYPE).value(), StandardCharsets.UTF_8))
                .isEqualTo("image/png");
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(r.value()));
        assertThat(image).as("a decodable PNG").isNotNull();
        assertThat(image.getWidth()).isEqualTo(width);
        assertThat(image.getHeight()).isEqualTo(height);
        assertThat(s.result().sizeBytes()).isEqualTo(r.value().length);
    }

    private Map<String, ConsumerRecord<String, byte[]>> deadLetters(int expected) {
        Map<String, ConsumerRecord<String, byte[]>> found = new HashMap<>();
        try (KafkaConsumer<String, byte[]> c = consumer()) {
            c.subscribe(List.of(Topics.JOBS_DLT));
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                c.poll(Duration.ofMillis(200)).forEach(r -> found.put(r.key(), r));
                return found.size() >= expected;
            });
        }
        return found;
    }

    private long committedJobs() throws Exception {
        return WorkerKafka.finishedJobs(kafka.bootstrapServers());
    }

    private JobRequest job(String prompt, int width, int height, String model) {
        return new JobRequest(UUID.randomUUID().toString(), prompt, "", width, height, 4, 7.5, 42, model, null,
                Instant.now(), null, "fingerprint of " + prompt);
    }

    private KafkaProducer<String, byte[]> producer() {
        return WorkerKafka.producer(kafka.bootstrapServers(), Map.of());
    }

    private KafkaConsumer<String, byte[]> consumer() {
        return WorkerKafka.consumer(kafka.bootstrapServers());
    }

    private String scrape() throws Exception {
        return WorkerKafka.scrape(port);
    }
}
