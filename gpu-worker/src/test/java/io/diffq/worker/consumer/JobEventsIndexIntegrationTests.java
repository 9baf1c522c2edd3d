package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.Progress;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.kafka.JobKeys;
import io.diffq.testing.ClientMetrics;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;

/**
 * The events index every worker keeps, against a real broker: what it learns from {@code diffq.job-events}, and
 * what it costs the broker while events flow.
 */
class JobEventsIndexIntegrationTests {

    private static final Duration LONG = Duration.ofSeconds(30);

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(2, Topics.JOB_EVENTS);

    private final JobCodec codec = new JobCodec();
    private final Instant t = Instant.parse("2030-01-01T12:00:00Z");
    private JobEventsIndex index;

    @AfterEach
    void stop() {
        if (index != null) {
            index.stop();
        }
    }

    @Test
    void knowsAJobsNewestAttemptAndWhetherItEndedFromEventsBeforeAndAfterItsStart() throws Exception {
        try (KafkaProducer<String, byte[]> producer = producer()) {
            send(producer, JobEvent.running("before", 1, t, "w1", "simulated", new Progress(0, 4), t));
            send(producer, JobEvent.succeeded("before", 1, t, "w1", "simulated", new Progress(4, 4), 5L, null, t));
            index = started();
            assertThat(index.seen("before")).as("read while starting").hasValueSatisfying(s -> {
                assertThat(s.attempt()).isEqualTo(1);
                assertThat(s.ended()).isTrue();
            });

            send(producer, JobEvent.running("after", 2, t, "w2", "simulated", new Progress(0, 4), t));
            await().atMost(LONG).until(() -> index.peek("after").isPresent());
            assertThat(index.peek("after").get().attempt()).isEqualTo(2);
            assertThat(index.peek("after").get().ended()).isFalse();
            assertThat(index.peek("never")).isEmpty();
        }
    }

    /**
     * Events written one after another, each acknowledged before the next, for two seconds: a tail answered at
     * every event would fetch about once per event (hundreds); the index fetches about once per
     * {@link JobEventsIndex#BATCH_WAIT}, so a fleet's workers cost the broker a few fetches a second each.
     */
    @Test
    void fetchesAboutOncePerBatchWaitWhileEventsFlowNotOncePerEvent() throws Exception {
        try (KafkaProducer<String, byte[]> producer = producer()) {
            index = started();
            await().atMost(LONG).until(() -> fetches(index) > 0);
            double before = fetches(index);
            long start = System.nanoTime();
            int sent = 0;
            while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2) || sent < 200) {
                send(producer, JobEvent.running("job-" + sent, 1, t, "w1", "simulated", new Progress(0, 4), t));
                sent++;
            }
            String last = "job-" + (sent - 1);
            await().atMost(LONG).until(() -> index.peek(last).isPresent());
            double elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            double fetched = fetches(index) - before;

            assertThat(index.peek("job-0")).isPresent();
            assertThat(fetched).as("%d events in %.0f ms", sent, elapsedMs)
                    .isLessThanOrEqualTo(elapsedMs / JobEventsIndex.BATCH_WAIT.toMillis() + 3);
        }
    }

    private JobEventsIndex started() {
        KafkaProperties properties = new KafkaProperties();
        properties.setBootstrapServers(List.of(kafka.bootstrapServers()));
        JobEventsIndex i = new JobEventsIndex(properties, Clock.systemUTC(), codec);
        i.start();
        return i;
    }

    /** The index's consumer's fetch requests so far (its client's own count). */
    private static double fetches(JobEventsIndex index) {
        return ClientMetrics.fetchRequests(index.clientMetrics());
    }

    private void send(KafkaProducer<String, byte[]> producer, JobEvent event) throws Exception {
        producer.send(new ProducerRecord<>(Topics.JOB_EVENTS, JobKeys.partition(event.jobId(), 2),
                JobKeys.event(event), codec.writeEvent(event))).get(10, TimeUnit.SECONDS);
    }

    private static KafkaProducer<String, byte[]> producer() {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringSerializer(), new ByteArraySerializer());
    }
}
