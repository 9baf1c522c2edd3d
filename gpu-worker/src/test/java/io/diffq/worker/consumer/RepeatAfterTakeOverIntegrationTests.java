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
import io.diffq.worker.WorkerApplication;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A record repeating a job's id (concurrent submits with one {@code Idempotency-Key}) that reaches a worker
 * started after the first record had run and been accepted by another: the worker's job index reads
 * {@code diffq.jobs} back from before its start, recognises the repeat, and neither runs it nor writes a second
 * terminal state. Two worker instances, one after the other, on a real broker.
 */
@Tag("abuse")
class RepeatAfterTakeOverIntegrationTests {

    @RegisterExtension
    static final KafkaBrokerExtension kafka = WorkerKafka.broker(1);

    private final JobCodec codec = new JobCodec();

    @Test
    void aWorkerThatTookThePartitionOverNeverRunsARepeatOfAJobFinishedBeforeIt() throws Exception {
        String brokers = kafka.bootstrapServers();
        JobRequest first = job("a red circle", null);
        // The repeat: another body for the same id, whose deadline has passed. Run, it would end EXPIRED,
        // a second terminal state for a job that SUCCEEDED.
        JobRequest repeat = new JobRequest(first.id(), "another body", "", 8, 8, 4, 7.5, 1, "simulated", null,
                Instant.now(), Instant.now().minusSeconds(1), "fingerprint of another body");
        JobRequest next = job("a blue square", null);

        try (KafkaProducer<String, byte[]> producer = WorkerKafka.producer(brokers, Map.of())) {
            RecordMetadata stored = send(producer, first);
            try (ConfigurableApplicationContext a = worker(brokers, "worker-a")) {
                await().atMost(Duration.ofSeconds(60)).until(() -> committed(brokers) > stored.offset());
            }
            send(producer, repeat);
            RecordMetadata last = send(producer, next);
            try (ConfigurableApplicationContext b = worker(brokers, "worker-b")) {
                await().atMost(Duration.ofSeconds(60)).until(() -> committed(brokers) > last.offset());
            }
        }

        List<JobEvent> firstEvents = new ArrayList<>();
        List<JobEvent> nextEvents = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = WorkerKafka.consumer(brokers)) {
            consumer.subscribe(List.of(Topics.JOB_EVENTS));
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    (JobKeys.jobId(r.key()).equals(first.id()) ? firstEvents : nextEvents).add(codec.readEvent(r.value()));
                }
                return nextEvents.stream().anyMatch(e -> e.state().isTerminal());
            });
            consumer.poll(Duration.ofMillis(500)).forEach(r -> (JobKeys.jobId(r.key()).equals(first.id()) ? firstEvents
                    : nextEvents).add(codec.readEvent(r.value())));
        }
        assertThat(nextEvents).filteredOn(e -> e.state().isTerminal()).extracting(JobEvent::state)
                .containsExactly(JobState.SUCCEEDED);
        assertThat(nextEvents.get(0).worker()).isEqualTo("worker-b/cpu");
        assertThat(firstEvents).filteredOn(e -> e.state().isTerminal()).extracting(JobEvent::state)
                .containsExactly(JobState.SUCCEEDED);
        assertThat(firstEvents).extracting(JobEvent::worker).containsOnly("worker-a/cpu");
    }

    private static ConfigurableApplicationContext worker(String brokers, String id) {
        return new SpringApplicationBuilder(WorkerApplication.class).run(
                "--server.port=0",
                "--spring.kafka.bootstrap-servers=" + brokers,
                "--diffq.worker.id=" + id,
                "--diffq.worker.models=simulated",
                "--diffq.worker.simulated.latency=20ms",
                "--diffq.worker.shutdown-grace=5s");
    }

    private RecordMetadata send(KafkaProducer<String, byte[]> producer, JobRequest request) throws Exception {
        return producer.send(new ProducerRecord<>(Topics.JOBS, request.id(), codec.writeRequest(request))).get();
    }

    /** How many records of the jobs partition the workers' share group has finished (-1: none read yet). */
    private static long committed(String brokers) throws Exception {
        return WorkerKafka.finished(brokers).getOrDefault(0, -1L);
    }

    private static JobRequest job(String prompt, Instant deadline) {
        return new JobRequest(UUID.randomUUID().toString(), prompt, "", 8, 8, 4, 7.5, 1, "simulated", null,
                Instant.now(), deadline, "fingerprint of " + prompt);
    }
}
