package io.diffq.worker.consumer;

import io.diffq.common.job.JobControl;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import io.diffq.kafka.JobKeys;
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
 * What is known about jobs besides their records, read from {@code diffq.job-controls} by every worker (no
 * consumer group): the jobs clients asked to cancel (a job in the set never starts; a running one stops at its
 * next denoising step), and the deliveries workers handed back unfinished on shutdown (they are not counted as
 * attempts: the broker counts every delivery; each says which attempt it had started, so that the next delivery
 * runs it again). A hand-back is written under a key of its own,
 * {@code <job id>#handed-back-<delivery>}, so compaction keeps both it and a cancel of the job.
 */
@Component
class JobControls implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(JobControls.class);
    private static final Duration KEEP = Duration.ofHours(24);
    private static final Duration EVICT_EVERY = Duration.ofMinutes(10);
    /** How long the first job after a start waits for the cancels on the topic to be read. */
    static final Duration REPLAY_WAIT = Duration.ofSeconds(10);
    private static final String HANDED_BACK_KEY = "#handed-back-";

    private final Map<String, Instant> canceled = new ConcurrentHashMap<>();
    /** Per job, the deliveries handed back: when, and the attempt each had started (null: none, or not said). */
    private final Map<String, Map<Integer, HandBack>> handedBack = new ConcurrentHashMap<>();

    private record HandBack(Instant at, Integer attempt) {
    }
    private final JobCodec codec;
    private final Clock clock;
    private final TopicReader reader;
    private Instant lastEviction;
    /** Whether the first look after the start has waited for the replay (done or given up). */
    private volatile boolean replayed;

    JobControls(KafkaProperties kafkaProperties, JobCodec codec, Clock clock) {
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
            } else if (JobControl.HANDED_BACK.equals(control.action()) && r.key() != null) {
                int at = r.key().lastIndexOf(HANDED_BACK_KEY);
                if (at > 0) {
                    handedBack.computeIfAbsent(control.jobId(), k -> new ConcurrentHashMap<>()).put(
                            Integer.parseInt(r.key().substring(at + HANDED_BACK_KEY.length())),
                            new HandBack(control.at(), control.attempt()));
                }
            }
        } catch (MalformedRecordException | NumberFormatException e) {
            log.warn("skipping unreadable job control at offset {}: {}", r.offset(), e.getMessage());
        }
    }

    /**
     * How many of the job's deliveries before {@code delivery} were handed back, once the reader has read what
     * is on the topic now (at most {@link #REPLAY_WAIT}; a hand-back not read by then counts as an attempt).
     */
    int handBacksBefore(String jobId, int delivery) {
        // A job's hand-backs are written to its id's partition (partitionOf), which the catch-up reads.
        if (reader.catchUpTo(jobId, () -> false, REPLAY_WAIT) == TopicReader.CatchUp.UNKNOWN) {
            log.warn("job controls not read up to their end within {}; counting without them", REPLAY_WAIT);
        }
        Map<Integer, HandBack> backs = handedBack.get(jobId);
        return backs == null ? 0 : (int) backs.keySet().stream().filter(d -> d < delivery).count();
    }

    /**
     * Whether a delivery of the job that had started {@code attempt} was handed back, as far as read (call after
     * {@link #handBacksBefore}, which reads the job's controls up to their end).
     */
    boolean handedBack(String jobId, int attempt) {
        Map<Integer, HandBack> backs = handedBack.get(jobId);
        return backs != null && backs.values().stream().anyMatch(b -> b.attempt() != null && b.attempt() == attempt);
    }

    /** The partition of {@code diffq.job-controls} ({@code partitions} of them) that holds a job's controls. */
    static int partitionOf(String jobId, int partitions) {
        return JobKeys.partition(jobId, partitions);
    }

    /**
     * The record saying that {@code delivery} of the job went back unfinished, having started {@code attempt}
     * (0: none): its key and its control. It goes to the job id's partition ({@link #partitionOf}), not its own
     * key's.
     */
    static Map.Entry<String, JobControl> handBack(String jobId, int delivery, int attempt, Instant at) {
        return Map.entry(jobId + HANDED_BACK_KEY + delivery, new JobControl(jobId, JobControl.HANDED_BACK, at,
                attempt > 0 ? attempt : null));
    }

    /** On the reader's thread after each poll: forgets cancels older than a day, every ten minutes. */
    private void evictNowAndThen() {
        if (Duration.between(lastEviction, clock.instant()).compareTo(EVICT_EVERY) >= 0) {
            Instant cutoff = clock.instant().minus(KEEP);
            canceled.values().removeIf(at -> at.isBefore(cutoff));
            handedBack.values().forEach(backs -> backs.values().removeIf(b -> b.at().isBefore(cutoff)));
            handedBack.values().removeIf(Map::isEmpty);
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
