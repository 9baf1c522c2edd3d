package io.diffq.worker.consumer;

import io.diffq.common.kafka.Topics;
import io.diffq.kafka.TopicReader;
import io.diffq.worker.WorkerProperties;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
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

    private record First(long offset, long timestamp) {
    }

    private final Duration window;
    private final Clock clock;
    private final Map<String, First> firsts = new ConcurrentHashMap<>();
    private final TopicReader reader;
    private long lastEviction;

    RepeatIndex(KafkaProperties kafkaProperties, WorkerProperties properties, Clock clock) {
        this.window = properties.repeatWindow();
        this.clock = clock;
        this.lastEviction = clock.millis();
        // A worker reading a lane sees only the records the dispatcher released there, one per job; the index still
        // guards against a release made twice (docs/design/lanes.md §4).
        String topic = properties.source() == WorkerProperties.Source.LANES ? Topics.lane(properties.pool())
                : Topics.JOBS;
        this.reader = TopicReader.builder("job-index", List.of(topic),
                        kafkaProperties.buildConsumerProperties(), kafkaProperties.buildAdminProperties())
                .clientId("diffq-worker-job-index")
                .since(() -> clock.instant().minus(window).minus(LOOK_BACK))
                .afterPoll(this::evictNowAndThen)
                .build(this::remember);
    }

    /**
     * Whether {@code record} repeats an earlier record of its job id, once the index has read up to it (at most
     * {@link #READ_WAIT}; if it has not by then, the record counts as the job's and runs: the gateways still
     * show the first record's job).
     */
    boolean repeats(ConsumerRecord<String, byte[]> record) {
        if (record.key() == null) {
            return false;
        }
        if (!reader.awaitRead(new TopicPartition(record.topic(), record.partition()), record.offset(), READ_WAIT)) {
            log.warn("the job index did not reach {}-{}@{} within {}; running it without knowing whether it repeats "
                    + "job {}", record.topic(), record.partition(), record.offset(), READ_WAIT, record.key());
            return false;
        }
        First first = firsts.get(key(record));
        return first != null && first.offset() < record.offset()
                && record.timestamp() - first.timestamp() <= window.toMillis();
    }

    private void remember(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null) {
            return;
        }
        First seen = firsts.get(key(r));
        // A record more than the window after the remembered one starts a new job of the id (the gateway's status
        // retention is longer than the window, so it happens only after the key was forgotten there too).
        if (seen == null || r.offset() > seen.offset() && r.timestamp() - seen.timestamp() > window.toMillis()) {
            firsts.put(key(r), new First(r.offset(), r.timestamp()));
        }
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
