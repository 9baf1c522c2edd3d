package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.Pool;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A worker reading lanes ({@code diffq.worker.source=lanes}, docs/design/lanes.md §2): it declares its pool on
 * {@code diffq.pools}, takes the jobs released to its pool's lane (committed releases only: the share group reads
 * committed, as the dispatcher writes in transactions) and refuses a pool declared with other models. The topics a
 * gateway would create exist from the start; the test releases jobs as the dispatcher does.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.NONE, properties = {
        "diffq.worker.id=lane-worker",
        "diffq.worker.models=simulated",
        "diffq.worker.source=lanes",
        "diffq.worker.simulated.latency=0ms"})
@DirtiesContext
class LaneWorkerIntegrationTests {

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(1, Topics.JOBS, Topics.JOB_EVENTS,
            Topics.RESULTS, Topics.JOBS_DLT, Topics.JOB_CONTROLS, Topics.MODELS, Topics.POOLS,
            Topics.lane("simulated"));

    @DynamicPropertySource
    static void kafka(DynamicPropertyRegistry registry) {
        registry.add("spring.kafka.bootstrap-servers", kafka::bootstrapServers);
    }

    @Autowired
    PoolMembership membership;

    private final JobCodec codec = new JobCodec();

    @Test
    void itDeclaresItsPoolAndRunsTheCommittedReleasesOfItsLaneOnly() throws Exception {
        await().atMost(Duration.ofSeconds(60))
                .until(() -> membership.declared("simulated").equals(Optional.of(
                        new Pool("simulated", List.of("simulated")))));

        List<JobRequest> released = new ArrayList<>();
        JobRequest aborted = job();
        try (KafkaProducer<String, byte[]> producer = WorkerKafka.producer(kafka.bootstrapServers(),
                Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "test-dispatcher-" + UUID.randomUUID()))) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(Topics.lane("simulated"), aborted.id(), codec.writeRequest(aborted)));
            producer.abortTransaction();
            producer.beginTransaction();
            for (int i = 0; i < 3; i++) {
                JobRequest r = job();
                released.add(r);
                producer.send(new ProducerRecord<>(Topics.lane("simulated"), r.id(), codec.writeRequest(r)));
            }
            producer.commitTransaction();
        }

        Map<String, JobState> last = new ConcurrentHashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = WorkerKafka.consumer(kafka.bootstrapServers())) {
            consumer.subscribe(List.of(Topics.JOB_EVENTS));
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    JobEvent e = codec.readEvent(r.value());
                    last.put(e.jobId(), e.state());
                }
                for (JobRequest r : released) {
                    assertThat(last.get(r.id())).as(r.id()).isEqualTo(JobState.SUCCEEDED);
                }
            });
        }
        // The aborted release came first on the lane: read_committed skipped it, it never ran.
        assertThat(last).doesNotContainKey(aborted.id()).hasSize(3);
    }

    @Test
    void aPoolDeclaredWithOtherModelsIsRefused() {
        await().atMost(Duration.ofSeconds(60)).until(() -> membership.declared("simulated").isPresent());
        assertThatThrownBy(() -> membership.join(new Pool("simulated", List.of("simulated", "tiny"))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'simulated' is declared on diffq.pools as serving [simulated]")
                .hasMessageContaining("[simulated, tiny]");
        // A pool of another name is free.
        assertThat(membership.declared("simulated.tiny")).isEmpty();
    }

    private static JobRequest job() {
        return new JobRequest(UUID.randomUUID().toString(), "a red circle", "", 16, 16, 4, 7.5, 1, "simulated", null,
                Instant.now(), null, "fingerprint");
    }
}
