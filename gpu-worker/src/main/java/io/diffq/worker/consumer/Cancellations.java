package io.diffq.worker.consumer;

import io.diffq.common.job.JobControl;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import io.diffq.kafka.TopicReader;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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
    private static final Duration EVICT_EVERY = Duration.ofMinutes(10);
    /** How long the first job after a start waits for the cancels on the topic to be read. */
    static final Duration REPLAY_WAIT = Duration.ofSeconds(10);

    private final Map<String, Instant> canceled = new ConcurrentHashMap<>();
    private final JobCodec codec;
    private final Clock clock;
    private final TopicReader reader;
    private Instant lastEviction;
    /** Whether the first look after the start has waited for the replay (done or given up). */
    private volatile boolean replayed;

    Cancellations(KafkaProperties kafkaProperties, JobCodec codec, Clock clock) {
        this.codec = codec;
        this.clock = clock;
        this.lastEviction = clock.instant();
        this.reader = TopicReader.builder("job-controls", List.of(Topics.JOB_CONTROLS),
                        kafkaProperties.buildConsumerProperties(), kafkaProperties.buildAdminProperties())
                .clientId("diffq-worker-job-controls")
                .afterPoll(this::evictNowAndThen)
                .build(this::apply);
    }

    /**
     * When the client asked to cancel the job, if it did. Until the reader has replayed the cancels that were
     * on the topic when the worker started, the first call waits for that (at most {@link #REPLAY_WAIT}): a
     * restarted worker must not run a job that was canceled while it was down.
     */
    Optional<Instant> requested(String jobId) {
        if (!replayed) {
            if (!reader.awaitCaughtUp(REPLAY_WAIT)) {
                log.warn("job controls not replayed within {}; going on without waiting", REPLAY_WAIT);
            }
            replayed = true;
        }
        return Optional.ofNullable(canceled.get(jobId));
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

    /** On the reader's thread after each poll: forgets cancels older than a day, every ten minutes. */
    private void evictNowAndThen() {
        if (Duration.between(lastEviction, clock.instant()).compareTo(EVICT_EVERY) >= 0) {
            Instant cutoff = clock.instant().minus(KEEP);
            canceled.values().removeIf(at -> at.isBefore(cutoff));
            lastEviction = clock.instant();
        }
    }

    @Override
    public void start() {
        reader.start();
    }

    @Override
    public void stop() {
        reader.stop();
    }

    @Override
    public boolean isRunning() {
        return reader.isRunning();
    }

    /** Starts before the job consumers, stops after them. */
    @Override
    public int getPhase() {
        return Integer.MAX_VALUE - 2000;
    }
}
