package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.common.json.JobCodec;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A worker with {@code max-batch} 4 against a real broker, on the {@code simulated} model (a load test of the
 * queue: each batch takes the model's latency once): jobs waiting together are drawn in batches, each gets its
 * own picture and one terminal state, a job of another size waits its turn, and a batch that fails runs its jobs
 * again alone, so the job that fails costs the others one attempt.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "diffq.worker.id=batch-worker",
        "diffq.worker.models=simulated",
        "diffq.worker.max-batch=4",
        "diffq.worker.simulated.latency=300ms",
        "diffq.worker.simulated.fail-pattern=explode"})
@DirtiesContext
class BatchingIntegrationTests {

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
    void jobsWaitingTogetherRunInBatchesEachWithItsOwnPictureAndOneTerminalState() throws Exception {
        List<JobRequest> jobs = new ArrayList<>();
        for (int i = 0; i < 11; i++) {
            jobs.add(job("picture " + i, i == 5 ? 16 : 32, i));
        }
        JobRequest exploding = job("please explode", 32, 99);
        jobs.add(1, exploding);
        try (KafkaProducer<String, byte[]> producer = producer()) {
            for (JobRequest r : jobs) {
                producer.send(new ProducerRecord<>(Topics.JOBS, r.id(), codec.writeRequest(r)));
            }
            producer.flush();
        }

        Map<String, List<JobEvent>> events = readEventsUntilAllTerminal(jobs);
        long deliveries = events.values().stream().flatMap(List::stream)
                .filter(e -> e.state() == JobState.RUNNING && e.progress() != null && e.progress().step() == 0)
                .count();
        int secondAttempts = 0;

        for (JobRequest r : jobs) {
            List<JobEvent> own = events.get(r.id());
            assertThat(own).as(r.prompt()).filteredOn(e -> e.state().isTerminal()).hasSize(1);
            JobStatus status = JobStatus.queued(r);
            for (JobEvent e : own) {
                status = status.apply(e); // throws on any transition the table forbids
            }
            if (r == exploding) {
                assertThat(status.state()).isEqualTo(JobState.FAILED);
                assertThat(status.attempt()).isEqualTo(3);
            } else {
                assertThat(status.state()).as(r.prompt()).isEqualTo(JobState.SUCCEEDED);
                // At most one attempt lost to the batch the exploding job was in.
                assertThat(status.attempt()).as(r.prompt()).isLessThanOrEqualTo(2);
                secondAttempts += status.attempt() - 1;
                BufferedImage image = png(status);
                assertThat(image.getWidth()).isEqualTo(r.width());
                // The simulated model paints the background from the job's own prompt (CRC-32 of it).
                assertThat(image.getRGB(0, image.getHeight() - 1) & 0xFFFFFF).as(r.prompt())
                        .isEqualTo(crc(r.prompt()) & 0xFFFFFF);
            }
        }
        String metrics = WorkerKafka.scrape(port);
        Matcher count = Pattern.compile("diffq_worker_batch_size_count\\{[^}]*gpu=\"cpu\"[^}]*} (\\d+)")
                .matcher(metrics);
        Matcher sum = Pattern.compile("diffq_worker_batch_size_sum\\{[^}]*gpu=\"cpu\"[^}]*} ([0-9.]+)")
                .matcher(metrics);
        assertThat(count.find() && sum.find()).as("the batch-size summary").isTrue();
        // 12 first deliveries, the exploding job's 2 more, and one more for each job that shared its first batch.
        assertThat(secondAttempts).as("jobs that shared the failing batch ran again").isPositive();
        assertThat(deliveries).isEqualTo(12 + 2 + secondAttempts);
        assertThat(Double.parseDouble(sum.group(1))).as("jobs drawn in batches").isEqualTo(deliveries);
        assertThat(Long.parseLong(count.group(1))).as("fewer model runs than deliveries").isLessThan(12);
    }

    private Map<String, List<JobEvent>> readEventsUntilAllTerminal(List<JobRequest> jobs) {
        Map<String, List<JobEvent>> events = new HashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = consumer()) {
            consumer.subscribe(List.of(Topics.JOB_EVENTS));
            await().atMost(Duration.ofSeconds(90)).until(() -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    events.computeIfAbsent(JobKeys.jobId(r.key()), k -> new ArrayList<>()).add(codec.readEvent(r.value()));
                }
                return jobs.stream().allMatch(j -> events.containsKey(j.id()) && events.get(j.id()).stream()
                        .anyMatch(e -> e.state().isTerminal()));
            });
            // Anything written after the last terminal state (there must be nothing) would show in a second.
            long until = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            while (System.nanoTime() < until) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    events.computeIfAbsent(JobKeys.jobId(r.key()), k -> new ArrayList<>()).add(codec.readEvent(r.value()));
                }
            }
        }
        return events;
    }

    private static long crc(String text) {
        CRC32 crc = new CRC32();
        crc.update(text.getBytes(StandardCharsets.UTF_8));
        return crc.getValue();
    }

    private BufferedImage png(JobStatus s) throws Exception {
        ConsumerRecord<String, byte[]> r = WorkerKafka.fetch(kafka.bootstrapServers(), Topics.RESULTS,
                s.result().partition(), s.result().offset());
        assertThat(r.key()).isEqualTo(s.id());
        return ImageIO.read(new ByteArrayInputStream(r.value()));
    }

    private static JobRequest job(String prompt, int size, long seed) {
        return new JobRequest(UUID.randomUUID().toString(), prompt, "", size, size, 4, 7.5, seed, "simulated", null,
                Instant.now(), null, null);
    }

    private KafkaProducer<String, byte[]> producer() {
        // Lingering puts every job in one produce request, so that the worker's first fetch finds them together.
        return WorkerKafka.producer(kafka.bootstrapServers(), Map.of(ProducerConfig.LINGER_MS_CONFIG, 50));
    }

    private KafkaConsumer<String, byte[]> consumer() {
        return WorkerKafka.consumer(kafka.bootstrapServers());
    }
}
