package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.kafka.Topics;
import io.diffq.testing.ClientMetrics;
import io.diffq.testing.KafkaBrokerExtension;
import io.diffq.worker.WorkerProperties;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;

/**
 * Which record of a job id is the job's, as the worker's repeat index tells it against a real broker: from its
 * tail, and from the rest of the partition read at once when the tail has not reached a record yet. Both must
 * give the answer the tail alone gives once it has read everything, or two workers could disagree on which
 * record is the job.
 */
class RepeatIndexIntegrationTests {

    private static final Duration LONG = Duration.ofSeconds(30);
    private static final long MINUTE = 60_000;
    /**
     * The window (2 minutes by default) is the record timestamps' business; the test sets them, from ten minutes
     * ago (a starting tail reads from the window and ten minutes more before now).
     */
    private final long t0 = System.currentTimeMillis() - 10 * MINUTE;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(1, Topics.JOBS);

    private final List<RepeatIndex> indexes = new ArrayList<>();

    @AfterEach
    void stop() {
        indexes.forEach(RepeatIndex::stop);
    }

    /**
     * The tail stopped where it was (as a lagging tail would be), so only the read ahead knows of the records
     * written after it. The rule (window 2 minutes): the first record of an id is the job, a later one within the
     * window of it repeats it, one more than the window after it starts a new job. A worker whose tail has read
     * everything must give the same answers.
     */
    @Test
    void aRecordTheTailHasNotReachedIsToldFromTheRestOfThePartitionAsTheTailWouldTellIt() throws Exception {
        try (KafkaProducer<String, byte[]> producer = producer()) {
            ConsumerRecord<String, byte[]> a1 = send(producer, "job-a", t0);
            ConsumerRecord<String, byte[]> d1 = send(producer, "job-d", t0);
            ConsumerRecord<String, byte[]> e1 = send(producer, "job-e", t0);
            RepeatIndex lagging = startedAndCaughtUp();
            lagging.stopTail();

            ConsumerRecord<String, byte[]> a2 = send(producer, "job-a", t0 + MINUTE);
            ConsumerRecord<String, byte[]> b1 = send(producer, "job-b", t0 + MINUTE);
            ConsumerRecord<String, byte[]> c1 = send(producer, "job-c", t0 + MINUTE);
            ConsumerRecord<String, byte[]> c2 = send(producer, "job-c", t0 + 2 * MINUTE);
            ConsumerRecord<String, byte[]> d2 = send(producer, "job-d", t0 + 3 * MINUTE);
            ConsumerRecord<String, byte[]> e2 = send(producer, "job-e", t0 + MINUTE);
            ConsumerRecord<String, byte[]> e3 = send(producer, "job-e", t0 + 3 * MINUTE);

            assertThat(lagging.repeats(a1)).as("the first record of job-a").isFalse();
            assertThat(lagging.repeats(a2)).as("job-a again a minute later, the first in the tail").isTrue();
            assertThat(lagging.repeats(b1)).as("another id").isFalse();
            assertThat(lagging.repeats(c1)).as("the first record of job-c, after the tail").isFalse();
            assertThat(lagging.repeats(c2)).as("job-c again, both after the tail").isTrue();
            assertThat(lagging.repeats(d2)).as("job-d three minutes after its first: a new job").isFalse();
            assertThat(lagging.repeats(e2)).as("job-e a minute after its first").isTrue();
            assertThat(lagging.repeats(e3)).as("job-e three minutes after its first, two after a repeat")
                    .isFalse();

            RepeatIndex caughtUp = startedAndCaughtUp();
            // Not e2: the tail answers from what it holds now, and e3 has become job-e's first since.
            for (ConsumerRecord<String, byte[]> r : List.of(a1, a2, b1, c1, c2, d1, d2, e3)) {
                assertThat(caughtUp.repeats(r)).as("%s@%d", r.key(), r.offset()).isEqualTo(lagging.repeats(r));
            }
        }
    }

    /** As {@link JobEventsIndexIntegrationTests}' test of the same name: the tail batches its fetches. */
    @Test
    void fetchesAboutOncePerBatchWaitWhileJobsFlowNotOncePerJob() throws Exception {
        try (KafkaProducer<String, byte[]> producer = producer()) {
            RepeatIndex index = startedAndCaughtUp();
            double before = fetches(index);
            long start = System.nanoTime();
            int sent = 0;
            while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2) || sent < 200) {
                send(producer, "job-" + sent, System.currentTimeMillis());
                sent++;
            }
            await().atMost(LONG).until(() -> fetches(index) > before);
            double elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

            assertThat(fetches(index) - before).as("%d records in %.0f ms", sent, elapsedMs)
                    .isLessThanOrEqualTo(elapsedMs / RepeatIndex.BATCH_WAIT.toMillis() + 3);
        }
    }

    private RepeatIndex startedAndCaughtUp() {
        KafkaProperties properties = new KafkaProperties();
        properties.setBootstrapServers(List.of(kafka.bootstrapServers()));
        WorkerProperties worker = new WorkerProperties("w", List.of("cpu"), List.of("simulated"),
                Duration.ofMillis(500), 3, Duration.ofMinutes(10), Duration.ofSeconds(30), 1, Duration.ofMinutes(2),
                1, null, WorkerProperties.Source.JOBS);
        RepeatIndex index = new RepeatIndex(properties, worker, Clock.systemUTC());
        indexes.add(index);
        index.start();
        assertThat(index.awaitCaughtUp(LONG)).as("caught up").isTrue();
        return index;
    }

    /** The tail's fetch requests so far (its client's own count). */
    private static double fetches(RepeatIndex index) {
        return ClientMetrics.fetchRequests(index.clientMetrics());
    }

    /** Writes a job record of {@code id} stamped {@code timestamp}; the record as a worker would be given it. */
    private static ConsumerRecord<String, byte[]> send(KafkaProducer<String, byte[]> producer, String id,
            long timestamp) throws Exception {
        byte[] value = ("{\"id\":\"" + id + "\"}").getBytes(StandardCharsets.UTF_8);
        RecordMetadata md = producer.send(new ProducerRecord<>(Topics.JOBS, 0, timestamp, id, value))
                .get(10, TimeUnit.SECONDS);
        return new ConsumerRecord<>(md.topic(), md.partition(), md.offset(), md.timestamp(),
                TimestampType.CREATE_TIME, id.length(), value.length, id, value, new RecordHeaders(),
                Optional.empty());
    }

    private static KafkaProducer<String, byte[]> producer() {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringSerializer(), new ByteArraySerializer());
    }
}
