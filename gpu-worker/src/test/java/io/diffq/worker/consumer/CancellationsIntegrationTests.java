package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobControl;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
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

/** Every worker's set of canceled jobs, read from the job controls without a consumer group. */
class CancellationsIntegrationTests {

    private static final Duration LONG = Duration.ofSeconds(30);

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(2, Topics.JOB_CONTROLS);

    private final JobCodec codec = new JobCodec();
    private final MovableClock clock = new MovableClock(Instant.parse("2030-01-01T12:00:00Z"));
    private Cancellations cancellations;

    @AfterEach
    void stop() {
        if (cancellations != null) {
            cancellations.stop();
        }
    }

    @Test
    void knowsTheCancelsWrittenBeforeAndAfterItStarted() throws Exception {
        try (KafkaProducer<String, byte[]> producer = producer()) {
            send(producer, JobControl.cancel("before", clock.instant()));
            send(producer, new JobControl("not-a-cancel", "pause", clock.instant()));
            cancellations = started();

            send(producer, JobControl.cancel("after", clock.instant()));

            await().atMost(LONG).until(() -> cancellations.requested("after").isPresent());
            assertThat(cancellations.requested("before")).contains(clock.instant());
            assertThat(cancellations.requested("not-a-cancel")).isEmpty();
        }
    }

    /** A worker restarted while a canceled job waited in the queue: its first look already knows the cancel. */
    @Test
    void theFirstLookAfterAStartWaitsUntilTheCancelsOnTheTopicAreRead() throws Exception {
        try (KafkaProducer<String, byte[]> producer = producer()) {
            for (int i = 0; i < 50; i++) {
                send(producer, JobControl.cancel("canceled-" + i, clock.instant()));
            }
            cancellations = started();

            assertThat(cancellations.requested("canceled-49")).as("asked at once after the start").isPresent();
            assertThat(cancellations.requested("canceled-0")).isPresent();
        }
    }

    @Test
    void forgetsCancelsOlderThanADayEveryTenMinutes() throws Exception {
        try (KafkaProducer<String, byte[]> producer = producer()) {
            Instant now = clock.instant();
            send(producer, JobControl.cancel("old", now.minus(Duration.ofHours(25))));
            send(producer, JobControl.cancel("recent", now.minus(Duration.ofHours(1))));
            cancellations = started();
            await().atMost(LONG).until(() -> cancellations.requested("recent").isPresent());
            // Not ten minutes since the last eviction: the old cancel is still known.
            assertThat(cancellations.requested("old")).isPresent();

            clock.move(Duration.ofMinutes(10));

            await().atMost(LONG).until(() -> cancellations.requested("old").isEmpty());
            assertThat(cancellations.requested("recent")).isPresent();
        }
    }

    @Test
    void stopEndsItsReaderThread() {
        cancellations = started();
        await().atMost(LONG).until(() -> readerThread() != null);
        Thread thread = readerThread();

        cancellations.stop();

        assertThat(cancellations.isRunning()).isFalse();
        assertThat(thread.isAlive()).isFalse();
    }

    private Cancellations started() {
        KafkaProperties properties = new KafkaProperties();
        properties.setBootstrapServers(List.of(kafka.bootstrapServers()));
        Cancellations c = new Cancellations(properties, codec, clock);
        c.start();
        return c;
    }

    private void send(KafkaProducer<String, byte[]> producer, JobControl control) throws Exception {
        producer.send(new ProducerRecord<>(Topics.JOB_CONTROLS, control.jobId(), codec.writeControl(control)))
                .get(10, TimeUnit.SECONDS);
    }

    private static KafkaProducer<String, byte[]> producer() {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringSerializer(), new ByteArraySerializer());
    }

    private static Thread readerThread() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("diffq-job-controls") && t.isAlive())
                .findFirst().orElse(null);
    }

    /** A clock the test moves forward. */
    private static final class MovableClock extends Clock {

        private volatile Instant now;

        MovableClock(Instant now) {
            this.now = now;
        }

        void move(Duration by) {
            now = now.plus(by);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }
}
