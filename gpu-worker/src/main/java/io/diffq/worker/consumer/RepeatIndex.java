package io.diffq.worker.consumer;

import io.diffq.common.kafka.Topics;
import io.diffq.kafka.NoGroupConsumerConfig;
import io.diffq.kafka.TopicReader;
import io.diffq.worker.WorkerProperties;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Which job record is a job's, when several carry its id (concurrent submits with one {@code Idempotency-Key}):
 * <b>the first record of the id in its partition</b>, the rule the gateways answer by. With a share group
 * several workers read one partition at once, so no worker sees "its" partition's records in order; instead
 * every worker tails {@code diffq.jobs} (no group, from {@link #LOOK_BACK} before it started) and keeps, per job
 * id, its first record of the last {@code repeat-window}s. A record is a repeat when an earlier record of its id
 * in its partition was written at most the window before it; every worker that reads it reaches the same answer,
 * whichever worker holds the first record and whether it ran long ago or runs right now.
 *
 * <p>The tail fetches in batches, about once per {@link #BATCH_WAIT} (as {@link JobEventsIndex} does), so a
 * worker costs the broker a few fetches a second whatever the rate of jobs, not one per job. A record that may
 * repeat (an idempotent submit's) is usually newer than what the tail has read; its worker reads the rest of
 * the partition up to the record itself at once ({@link #readAhead}: one fetch, on this worker only) and folds
 * it over what the tail holds, by the same rule, so the answer is the one the tail would give.
 */
@Component
class RepeatIndex implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(RepeatIndex.class);

    /**
     * How far back a starting worker reads: the repeat window and this much more, so a job queued that long
     * before the start is still told from its repeats.
     */
    static final Duration LOOK_BACK = Duration.ofMinutes(10);
    /** The longest a record waits for the index to read up to it (normally it already has). */
    static final Duration READ_WAIT = Duration.ofSeconds(5);
    /** How long each of the tail's fetches waits on the broker for more records (see {@link JobEventsIndex}). */
    static final Duration BATCH_WAIT = JobEventsIndex.BATCH_WAIT;
    private static final Duration POLL = Duration.ofMillis(100);

    private record First(long offset, long timestamp) {
    }

    private final Duration window;
    private final Clock clock;
    private final Map<String, First> firsts = new ConcurrentHashMap<>();
    private final TopicReader reader;
    private final Map<String, Object> aheadConfig;
    private KafkaConsumer<String, byte[]> ahead;
    private long lastEviction;

    RepeatIndex(KafkaProperties kafkaProperties, WorkerProperties properties, Clock clock) {
        this.window = properties.repeatWindow();
        this.clock = clock;
        this.lastEviction = clock.millis();
        // A worker reading a lane sees only the records the dispatcher released there, one per job; the index still
        // guards against a release made twice (docs/design/lanes.md §4).
        String topic = properties.source() == WorkerProperties.Source.LANES ? Topics.lane(properties.pool())
                : Topics.JOBS;
        this.aheadConfig = NoGroupConsumerConfig.of(kafkaProperties.buildConsumerProperties(),
                "diffq-worker-job-index-ahead-" + System.identityHashCode(this));
        this.reader = TopicReader.builder("job-index", List.of(topic), kafkaProperties.buildConsumerProperties(),
                        kafkaProperties.buildAdminProperties())
                .clientId("diffq-worker-job-index")
                .fetchEvery(BATCH_WAIT)
                .since(() -> clock.instant().minus(window).minus(LOOK_BACK))
                .afterPoll(this::evictNowAndThen)
                .build(this::remember);
    }

    /**
     * Whether {@code record} repeats an earlier record of its job id: from what the tail holds and the rest of the
     * partition up to the record, read at once ({@link #readAhead}); while the tail is still starting, or if that
     * read fails, once the tail has read up to the record (at most {@link #READ_WAIT}; if it has not by then, the
     * record counts as the job's and runs: the gateways still show the first record's job).
     */
    boolean repeats(ConsumerRecord<String, byte[]> record) {
        if (record.key() == null) {
            return false;
        }
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        long read = reader.position(tp);
        if (read >= 0 && read <= record.offset() && reader.isCaughtUp()) {
            Optional<First> first = readAhead(tp, read, record);
            if (first.isPresent()) {
                return repeats(first.get(), record.offset(), record.timestamp());
            }
        }
        if (!reader.awaitRead(tp, record.offset(), READ_WAIT)) {
            log.warn("the job index did not reach {}-{}@{} within {}; running it without knowing whether it repeats "
                    + "job {}", record.topic(), record.partition(), record.offset(), READ_WAIT, record.key());
            return false;
        }
        return repeats(firsts.get(key(record)), record.offset(), record.timestamp());
    }

    private boolean repeats(First first, long offset, long timestamp) {
        return first != null && first.offset() < offset && timestamp - first.timestamp() <= window.toMillis();
    }

    /**
     * The first record of {@code record}'s id as the tail would hold it once it reached {@code record}: what it
     * holds now (all of the partition before {@code from}, perhaps more) with the partition's records from
     * {@code from} up to {@code record} folded in. Folding a record the tail already holds changes nothing (the
     * fold keeps the earlier of two records within the window), so the two may overlap. Empty if the records could
     * not be read within {@link #READ_WAIT}.
     */
    private synchronized Optional<First> readAhead(TopicPartition tp, long from,
            ConsumerRecord<String, byte[]> record) {
        First first = firsts.get(key(record));
        long deadline = System.nanoTime() + READ_WAIT.toNanos();
        try {
            if (ahead == null) {
                ahead = new KafkaConsumer<>(aheadConfig, new StringDeserializer(), new ByteArrayDeserializer());
            }
            ahead.assign(List.of(tp));
            ahead.seek(tp, from);
            while (ahead.position(tp) < record.offset()) {
                if (System.nanoTime() - deadline > 0) {
                    log.warn("could not read {} from {} up to {} within {}; waiting for the job index", tp, from,
                            record.offset(), READ_WAIT);
                    return Optional.empty();
                }
                for (ConsumerRecord<String, byte[]> r : ahead.poll(POLL)) {
                    if (r.offset() < record.offset() && record.key().equals(r.key())) {
                        first = fold(first, r.offset(), r.timestamp());
                    }
                }
            }
            return Optional.of(first == null ? new First(record.offset(), record.timestamp()) : first);
        } catch (KafkaException e) {
            log.warn("could not read {} from {} up to {} ({}); waiting for the job index", tp, from, record.offset(),
                    e.toString());
            return Optional.empty();
        } finally {
            if (ahead != null) {
                ahead.unsubscribe();
            }
        }
    }

    private void remember(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null) {
            return;
        }
        firsts.compute(key(r), (k, seen) -> fold(seen, r.offset(), r.timestamp()));
    }

    /**
     * The first record of an id once the record at {@code offset} is read, records being read in the order of
     * their partition: the one seen, or this one if none was, or if this one came more than the window after it
     * (a new job of the id; the gateway's status retention is longer than the window, so it happens only after
     * the key was forgotten there too).
     */
    private First fold(First seen, long offset, long timestamp) {
        if (seen == null || offset > seen.offset() && timestamp - seen.timestamp() > window.toMillis()) {
            return new First(offset, timestamp);
        }
        return seen;
    }

    /** Ids are told apart per partition: after partitions are added, an id's records may lie in two. */
    private static String key(ConsumerRecord<String, byte[]> r) {
        return r.partition() + "/" + r.key();
    }

    /** On the reader's thread: forgets firsts older than twice the window, once a minute. */
    private void evictNowAndThen() {
        long now = clock.millis();
        if (now - lastEviction >= 60_000) {
            long cutoff = now - 2 * window.toMillis() - LOOK_BACK.toMillis();
            firsts.values().removeIf(f -> f.timestamp() < cutoff);
            lastEviction = now;
        }
    }

    /** The tail's consumer's client metrics (how often it fetches). */
    Map<MetricName, ? extends Metric> clientMetrics() {
        return reader.metrics();
    }

    /** Waits, at most {@code timeout}, until the tail has read what was on the topic when it started. */
    boolean awaitCaughtUp(Duration timeout) {
        return reader.awaitCaughtUp(timeout);
    }

    /** For tests: the tail stops where it is, as one that lags behind would, and the index goes on answering. */
    void stopTail() {
        reader.stop();
    }

    @Override
    public void start() {
        reader.start();
    }

    @Override
    public void stop() {
        reader.stop();
        synchronized (this) {
            if (ahead != null) {
                ahead.close();
                ahead = null;
            }
        }
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
