package io.diffq.worker.consumer;

import io.diffq.common.job.JobControl;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The jobs clients asked to cancel, read from {@code diffq.job-controls} by every worker (no consumer
 * group). A job in the set never starts; a running one stops at its next denoising step.
 */
@Component
class Cancellations implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(Cancellations.class);
    private static final Duration KEEP = Duration.ofHours(24);

    private final Map<String, Instant> canceled = new ConcurrentHashMap<>();
    private final KafkaProperties kafkaProperties;
    private final JobCodec codec;
    private final Clock clock;
    private volatile boolean running;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private Thread thread;

    Cancellations(KafkaProperties kafkaProperties, JobCodec codec, Clock clock) {
        this.kafkaProperties = kafkaProperties;
        this.codec = codec;
        this.clock = clock;
    }

    /** When the client asked to cancel the job, if it did. */
    Optional<Instant> requested(String jobId) {
        return Optional.ofNullable(canceled.get(jobId));
    }

    private void run() {
        Map<String, Object> config = new HashMap<>(kafkaProperties.buildConsumerProperties());
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(config, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer = c;
            Instant lastEviction = clock.instant();
            while (running) {
                try {
                    if (c.assignment().isEmpty()) {
                        var partitions = c.partitionsFor(Topics.JOB_CONTROLS, Duration.ofSeconds(5));
                        if (partitions == null || partitions.isEmpty()) {
                            Thread.sleep(1000);
                            continue;
                        }
                        c.assign(partitions.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList());
                    }
                    for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                        apply(r);
                    }
                    if (Duration.between(lastEviction, clock.instant()).toMinutes() >= 10) {
                        Instant cutoff = clock.instant().minus(KEEP);
                        canceled.values().removeIf(at -> at.isBefore(cutoff));
                        lastEviction = clock.instant();
                    }
                } catch (WakeupException e) {
                    // stop() woke us
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (RuntimeException e) {
                    log.warn("reading job controls: {}; retrying", e.toString());
                    sleepQuietly();
                }
            }
        }
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        if (r.value() == null) {
            return;
        }
        try {
            JobControl control = codec.readControl(r.value());
            if (JobControl.CANCEL.equals(control.action())) {
                canceled.put(control.jobId(), control.at());
            }
        } catch (MalformedRecordException e) {
            log.warn("skipping unreadable job control at offset {}: {}", r.offset(), e.getMessage());
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void start() {
        running = true;
        thread = new Thread(this::run, "diffq-job-controls");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void stop() {
        running = false;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        if (thread != null) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Starts before the job consumers, stops after them. */
    @Override
    public int getPhase() {
        return Integer.MAX_VALUE - 2000;
    }

}
