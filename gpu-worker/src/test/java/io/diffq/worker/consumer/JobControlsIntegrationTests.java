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

/**
 * What every worker knows from the job controls, read without a consumer group: the canceled jobs, and the
 * deliveries handed back on shutdown.
 */
class JobControlsIntegrationTests {

    private static final Duration LONG = Duration.ofSeconds(30);

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(2, Topics.JOB_CONTROLS);

    private final JobCodec codec = new JobCodec();
    private final MovableClock clock = new MovableClock(Instant.parse("2030-01-01T12:00:00Z"));
    private JobControls cancellations;

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

    /**
     * Hand-backs are counted per delivery, each under a key of its own in the job id's partition, so a cancel of
     * the same job stands beside them; only deliveries before the one asking count. Each says the attempt it had
     * started, if any (delivery 1 had started attempt 1, delivery 3 none).
     */
    @Test
    void countsTheDeliveriesOfAJobHandedBackBeforeAGivenOne() throws Exception {
        try (KafkaProducer<String, byte[]> producer = producer()) {
            cancellations = started();
            for (int delivery : new int[] {1, 3}) {
                Map.Entry<String, JobControl> back = JobControls.handBack("job-h", delivery, delivery == 1 ? 1 : 0,
                        clock.instant());
                producer.send(new ProducerRecord<>(Topics.JOB_CONTROLS, JobControls.partitionOf("job-h", 2),
                        back.getKey(), codec.writeControl(back.getValue()))).get(10, TimeUnit.SECONDS);
            }
            send(producer, JobControl.cancel("job-h", clock.instant()));

            assertThat(cancellations.handBacksBefore("job-h", 4)).isEqualTo(2);
            assertThat(cancellations.handBacksBefore("job-h", 3)).isEqualTo(1);
            assertThat(cancellations.handBacksBefore("job-h", 1)).isZero();
            assertThat(cancellations.handBacksBefore("another", 9)).isZero();
            assertThat(cancellations.handedBack("job-h", 1)).as("attempt 1, handed back by delivery 1").isTrue();
            assertThat(cancellations.handedBack("job-h", 2)).as("attempt 2 never was").isFalse();
            assertThat(cancellations.handedBack("job-h", 0)).as("delivery 3 had started none").isFalse();
            await().atMost(LONG).until(() -> cancellations.requested("job-h").isPresent());
        }
    }

    /**
     * The reader thread is known by the clock it asks after each poll: other test classes, running at the same
     * time in this JVM, start readers of the same name.
     */
    @Test
    void stopEndsItsReaderThread() {
        cancellations = started();
        await().atMost(LONG).until(() -> clock.reader() != null);
        Thread thread = clock.reader();

        cancellations.stop();

        assertThat(cancellations.isRunning()).isFalse();
        assertThat(thread.isAlive()).isFalse();
    }

    private JobControls started() {
        KafkaProperties properties = new KafkaProperties();
        properties.setBootstrapServers(List.of(kafka.bootstrapServers()));
        JobControls c = new JobControls(properties, codec, clock);
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

    /** A clock the test moves forward; it remembers the reader thread that asked it the time. */
    private static final class MovableClock extends Clock {

        private volatile Instant now;
        private volatile Thread reader;

        MovableClock(Instant now) {
            this.now = now;
        }

        void move(Duration by) {
            now = now.plus(by);
        }

        Thread reader() {
            return reader;
        }

        @Override
        public Instant instant() {
            if (Thread.currentThread().getName().equals("diffq-job-controls")) {
                reader = Thread.currentThread();
            }
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
