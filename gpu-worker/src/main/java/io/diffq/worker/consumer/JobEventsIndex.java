package io.diffq.worker.consumer;

import io.diffq.common.job.JobEvent;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import io.diffq.kafka.TopicReader;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * What the events of recent jobs say, per job: its newest attempt and whether it ended, folded as every reader
 * folds them (an older attempt's event after a newer one's is a late write, and the first terminal event stands).
 * Every worker tails {@code diffq.job-events} (no group, from {@link #LOOK_BACK} before it started, about one fetch
 * per {@link #BATCH_WAIT}).
 *
 * <p>Why: the broker's delivery count is not always a record's history. When a share partition's leader moves,
 * its records in flight come back with the delivery count last persisted, and a record a departed member held
 * comes back uncounted, so a record run to its end can be delivered again as a "first" delivery (fault campaign:
 * a job run again as attempt 1 after its {@code SUCCEEDED}). Admission asks this index first, without a broker
 * round trip, and reads a job's history ({@link JobHistory}) when the index knows of earlier events.
 */
@Component
class JobEventsIndex implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(JobEventsIndex.class);

    /**
     * How far back a starting worker reads, and how long a job is remembered after its last event: a record comes
     * back with a reset count within a lock (30 s), a session (45 s) and a leader election of its last run, so ten
     * minutes is a wide margin; at 10 million jobs a day (115 a second) it is about 70,000 jobs, a few MiB.
     */
    static final Duration LOOK_BACK = Duration.ofMinutes(10);
    /** The longest admission waits for a starting index to read what was on the topic when it started. */
    static final Duration CATCH_UP_WAIT = Duration.ofSeconds(10);
    /**
     * How long each of the index's fetches waits on the broker for more events
     * ({@link TopicReader.Builder#fetchEvery}): a worker then costs the broker about four fetches a second whatever
     * the rate of jobs. Answered at the first event, as a tail's fetch is by default, every event cost one fetch
     * per worker (two per job, so 2 × N fetches per job for a fleet of N workers). The index learns of an end that
     * much later; the redeliveries it guards against come after a lock, a session or a leader election (seconds;
     * the fault campaign's came 20 s after the job ended).
     */
    static final Duration BATCH_WAIT = Duration.ofMillis(250);

    /**
     * @param attempt the newest attempt of the job's events (late writes aside)
     * @param ended   whether one of them was terminal
     * @param at      when the last of them was read (epoch milliseconds), for forgetting
     */
    record Seen(int attempt, boolean ended, long at) {
    }

    private final Clock clock;
    private final JobCodec codec;
    private final Map<String, Seen> jobs = new ConcurrentHashMap<>();
    private final TopicReader reader;
    private long lastEviction;

    JobEventsIndex(KafkaProperties kafkaProperties, Clock clock, JobCodec codec) {
        this.clock = clock;
        this.codec = codec;
        this.lastEviction = clock.millis();
        this.reader = TopicReader.builder("job-events-index", List.of(Topics.JOB_EVENTS),
                        kafkaProperties.buildConsumerProperties(), kafkaProperties.buildAdminProperties())
                .clientId("diffq-worker-job-events-index")
                .fetchEvery(BATCH_WAIT)
                .since(() -> clock.instant().minus(LOOK_BACK))
                .afterPoll(this::evictNowAndThen)
                .build(this::remember);
    }

    /**
     * What the job's events said so far, once the index has read what was on the topic when it started (at most
     * {@link #CATCH_UP_WAIT}; past it, what it has).
     */
    Optional<Seen> seen(String jobId) {
        if (reader.isRunning() && !reader.isCaughtUp() && !reader.awaitCaughtUp(CATCH_UP_WAIT)) {
            log.warn("the job events index has not caught up within {}; deciding on what it has", CATCH_UP_WAIT);
        }
        return peek(jobId);
    }

    /** What the job's events said so far, without waiting for a starting index. */
    Optional<Seen> peek(String jobId) {
        return Optional.ofNullable(jobs.get(jobId));
    }

    private void remember(ConsumerRecord<String, byte[]> r) {
        if (r.value() == null) {
            return;
        }
        try {
            remember(codec.readEvent(r.value()));
        } catch (MalformedRecordException e) {
            log.warn("skipping unreadable event {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
        }
    }

    /** Folds one event in, in the order of its partition. */
    void remember(JobEvent e) {
        long now = clock.millis();
        jobs.compute(e.jobId(), (id, before) -> {
            if (before == null) {
                return new Seen(e.attempt(), e.state().isTerminal(), now);
            }
            if (e.attempt() < before.attempt()) {
                return before; // a late write: every reader refuses it
            }
            return new Seen(e.attempt(), before.ended() || e.state().isTerminal(), now);
        });
    }

    /** On the reader's thread: forgets jobs whose last event is older than {@link #LOOK_BACK}, once a minute. */
    private void evictNowAndThen() {
        long now = clock.millis();
        if (now - lastEviction >= 60_000) {
            long cutoff = now - LOOK_BACK.toMillis();
            jobs.values().removeIf(s -> s.at() < cutoff);
            lastEviction = now;
        }
    }

    /** The index's consumer's client metrics (how often it fetches). */
    Map<MetricName, ? extends Metric> clientMetrics() {
        return reader.metrics();
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
