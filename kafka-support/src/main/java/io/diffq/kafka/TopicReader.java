package io.diffq.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads topics from the beginning, without a consumer group, on its own thread, and hands every record to
 * a sink that keeps what it needs in memory. A reader knows when it has read everything that was on the
 * topics when it started ({@link #isCaughtUp()}), and can wait until it has read everything that is on
 * them now ({@link #catchUp}): an in-memory view answers from the topics, not from what the instance
 * happened to see.
 *
 * <p>Topics that do not exist yet are read once they do. A record the sink cannot take (it throws) is
 * logged and skipped; the reader goes on with the next one.
 */
public final class TopicReader {

    private static final Logger log = LoggerFactory.getLogger(TopicReader.class);
    private static final Duration POLL = Duration.ofMillis(100);
    /**
     * What a batched fetch ({@link Builder#fetchEvery}) waits for at most: more than a tail's records usually come
     * to within its wait, so the wait decides, while a reader far behind still gets large fetches at once.
     */
    static final int BATCH_BYTES = 1024 * 1024;
    private static final Duration REFRESH_PARTITIONS = Duration.ofSeconds(30);

    private final String name;
    private final List<String> topics;
    private final Map<String, Object> consumerConfig;
    private final Map<String, Object> adminConfig;
    private final Consumer<ConsumerRecord<String, byte[]>> sink;
    private final Runnable afterPoll;
    private final Supplier<Instant> since;
    private final Function<TopicPartition, Long> startAt;
    private final Consumer<Map<TopicPartition, Long>> afterBatch;
    /** How far ahead in time a partition may read during the start-up replay ({@link Builder#inTimeOrder}). */
    private final Duration aheadAtMost;
    /** The least time from one poll's start to the next while records keep coming ({@link Builder#pollAtMostEvery}). */
    private final long pollEveryNanos;
    /** The most records one poll returns: a poll that returned that many is not paced (more are waiting). */
    private final int maxPollRecords;
    /** Reader thread only: the timestamp of the last record read from each partition, and those paused. */
    private final Map<TopicPartition, Long> lastStamps = new HashMap<>();
    private final Set<TopicPartition> paused = new HashSet<>();
    private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
    private final Map<String, Integer> partitionCounts = new ConcurrentHashMap<>();
    private final Object progress = new Object();

    private volatile boolean running;
    private volatile boolean caughtUp;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private Map<TopicPartition, Long> startupEnds;
    private Thread thread;
    private Admin admin;

    private TopicReader(Builder b, Consumer<ConsumerRecord<String, byte[]>> sink) {
        this.name = b.name;
        this.topics = b.topics;
        this.sink = Objects.requireNonNull(sink, "sink");
        this.afterPoll = b.afterPoll;
        this.since = b.since;
        this.startAt = b.startAt;
        this.afterBatch = b.afterBatch;
        this.aheadAtMost = b.aheadAtMost;
        this.pollEveryNanos = b.pollEvery == null ? 0 : b.pollEvery.toNanos();
        this.adminConfig = new HashMap<>(b.adminProperties);
        Map<String, Object> config = NoGroupConsumerConfig.of(b.consumerProperties,
                b.clientId + "-" + System.identityHashCode(this));
        if (b.isolationLevel != null) {
            config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, b.isolationLevel.name().toLowerCase(Locale.ROOT));
        }
        if (b.fetchEvery != null) {
            config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, (int) b.fetchEvery.toMillis());
            config.put(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, BATCH_BYTES);
        }
        this.consumerConfig = config;
        Object most = config.get(ConsumerConfig.MAX_POLL_RECORDS_CONFIG);
        this.maxPollRecords = most == null ? ConsumerConfig.DEFAULT_MAX_POLL_RECORDS
                : Integer.parseInt(most.toString());
    }

    /**
     * Starts describing a reader.
     *
     * @param name               what is read, for logs and the thread ({@code diffq-<name>}), e.g.
     *                           {@code status-view}
     * @param topics             the topics, read in full (unless {@link Builder#since})
     * @param consumerProperties the application's consumer properties (bootstrap servers, security...),
     *                           made into a {@linkplain NoGroupConsumerConfig no-group configuration}
     * @param adminProperties    the application's admin properties, for the end offsets {@link #catchUp}
     *                           waits for
     */
    public static Builder builder(String name, List<String> topics, Map<String, ?> consumerProperties,
            Map<String, ?> adminProperties) {
        return new Builder(name, topics, consumerProperties, adminProperties);
    }

    /**
     * Whether the reader has read everything that was on the topics when it started. Until then what the
     * sink holds may be older than the truth.
     */
    public boolean isCaughtUp() {
        return caughtUp;
    }

    /** Waits, at most {@code timeout}, until {@link #isCaughtUp()}; returns whether it is. */
    public boolean awaitCaughtUp(Duration timeout) {
        return caughtUp || awaitProgress(() -> caughtUp, deadline(timeout));
    }

    /**
     * Waits, at most {@code timeout}, until {@code condition} holds, testing it again each time the reader has
     * handed records to its sink.
     *
     * @return whether it holds
     */
    public boolean await(BooleanSupplier condition, Duration timeout) {
        return awaitProgress(condition, deadline(timeout));
    }

    /**
     * Waits until the reader has read up to the current end of the partitions that hold {@code key} in each
     * topic, or until {@code found} holds, or at most {@code timeout}.
     *
     * @return whether {@code found} holds
     */
    public boolean catchUp(String key, BooleanSupplier found, Duration timeout) {
        return catchUpTo(key, found, timeout) == CatchUp.FOUND;
    }

    /** What a {@link #catchUpTo catch-up} learned. */
    public enum CatchUp {
        /** {@code found} holds. */
        FOUND,
        /** The reader reached the end of the partitions and {@code found} does not hold. */
        ABSENT,
        /** The end could not be read or reached in time (e.g. the broker is down): nothing is known. */
        UNKNOWN
    }

    /**
     * As {@link #catchUp(String, BooleanSupplier, Duration)}, telling an absent key from one the reader could
     * not look for.
     */
    public CatchUp catchUpTo(String key, BooleanSupplier found, Duration timeout) {
        byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
        return catchUp(counts -> {
            Set<TopicPartition> tps = new HashSet<>();
            counts.forEach((topic, count) ->
                    tps.add(new TopicPartition(topic, Utils.toPositive(Utils.murmur2(bytes)) % count)));
            return tps;
        }, found, timeout);
    }

    /**
     * The offset up to which the reader has handed {@code tp}'s records to its sink (every record before it was
     * handed over; -1 while it has none for the partition).
     */
    public long position(TopicPartition tp) {
        return positions.getOrDefault(tp, -1L);
    }

    /**
     * Waits, at most {@code timeout}, until the reader has handed the record at {@code offset} of {@code tp} to
     * its sink (read-your-writes for a record this instance just wrote).
     *
     * @return whether it has
     */
    public boolean awaitRead(TopicPartition tp, long offset, Duration timeout) {
        return awaitProgress(() -> positions.getOrDefault(tp, -1L) > offset, deadline(timeout));
    }

    /** As {@link #catchUp(String, BooleanSupplier, Duration)}, over every partition of the topics. */
    public boolean catchUp(BooleanSupplier found, Duration timeout) {
        return catchUp(counts -> {
            Set<TopicPartition> tps = new HashSet<>();
            counts.forEach((topic, count) -> {
                for (int p = 0; p < count; p++) {
                    tps.add(new TopicPartition(topic, p));
                }
            });
            return tps;
        }, found, timeout) == CatchUp.FOUND;
    }

    private CatchUp catchUp(Function<Map<String, Integer>, Set<TopicPartition>> partitions,
            BooleanSupplier found, Duration timeout) {
        long deadline = deadline(timeout);
        // At start-up the reader may not have found the topics' partitions yet.
        if (!awaitProgress(() -> found.getAsBoolean() || partitionCounts.size() == topics.size(), deadline)) {
            return found.getAsBoolean() ? CatchUp.FOUND : CatchUp.UNKNOWN;
        }
        if (found.getAsBoolean()) {
            return CatchUp.FOUND;
        }
        Map<TopicPartition, Long> ends;
        try {
            ends = endOffsets(partitions.apply(partitionCounts), timeout);
        } catch (Exception e) {
            log.debug("{}: cannot read end offsets: {}", name, e.toString());
            return found.getAsBoolean() ? CatchUp.FOUND : CatchUp.UNKNOWN;
        }
        boolean reached = awaitProgress(() -> found.getAsBoolean() || reached(ends), deadline);
        if (found.getAsBoolean()) {
            return CatchUp.FOUND;
        }
        return reached ? CatchUp.ABSENT : CatchUp.UNKNOWN;
    }

    private static long deadline(Duration timeout) {
        return System.nanoTime() + timeout.toNanos();
    }

    /**
     * Waits until {@code condition} holds, re-checking each time the reader's thread has polled, or until
     * {@code deadline} (a {@link System#nanoTime()} value).
     *
     * @return whether the condition holds
     */
    private boolean awaitProgress(BooleanSupplier condition, long deadline) {
        synchronized (progress) {
            while (!condition.getAsBoolean()) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return false;
                }
                try {
                    progress.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    private Map<TopicPartition, Long> endOffsets(Set<TopicPartition> tps, Duration timeout) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        tps.forEach(tp -> request.put(tp, OffsetSpec.latest()));
        Map<TopicPartition, Long> ends = new HashMap<>();
        admin.listOffsets(request).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .forEach((tp, info) -> ends.put(tp, info.offset()));
        return ends;
    }

    private boolean reached(Map<TopicPartition, Long> ends) {
        return ends.entrySet().stream().allMatch(e -> positions.getOrDefault(e.getKey(), -1L) >= e.getValue());
    }

    private void run() {
        long lastRefresh = System.nanoTime() - REFRESH_PARTITIONS.toNanos() - 1;
        long lastPoll = 0; // read only once a poll has set it (streaming)
        boolean streaming = false;
        try (KafkaConsumer<String, byte[]> c = newConsumer()) {
            consumer = c;
            while (running) {
                try {
                    if (System.nanoTime() - lastRefresh > REFRESH_PARTITIONS.toNanos() || c.assignment().isEmpty()) {
                        assign(c);
                        lastRefresh = System.nanoTime();
                    }
                    if (c.assignment().isEmpty()) {
                        Thread.sleep(POLL.toMillis());
                        continue;
                    }
                    if (streaming) {
                        waitUntil(lastPoll + pollEveryNanos);
                    }
                    lastPoll = System.nanoTime();
                    ConsumerRecords<String, byte[]> records = c.poll(POLL);
                    // Paced only once caught up and while polls find a few records: after one that found none, the
                    // next record is read as soon as it comes; a replay or a backlog is read at full speed.
                    streaming = pollEveryNanos > 0 && caughtUp && !records.isEmpty()
                            && records.count() < maxPollRecords;
                    for (ConsumerRecord<String, byte[]> r : records) {
                        accept(r);
                    }
                    if (aheadAtMost != null && !caughtUp) {
                        for (TopicPartition tp : records.partitions()) {
                            List<ConsumerRecord<String, byte[]>> rs = records.records(tp);
                            lastStamps.put(tp, rs.get(rs.size() - 1).timestamp());
                        }
                    }
                    Map<TopicPartition, Long> read = new HashMap<>();
                    for (TopicPartition tp : c.assignment()) {
                        read.put(tp, c.position(tp, Duration.ofSeconds(1)));
                    }
                    // The sink makes the batch durable before anyone is told it was read (read-your-writes).
                    try {
                        afterBatch.accept(read);
                    } catch (RuntimeException e) {
                        rewind(c);
                        throw e;
                    }
                    positions.putAll(read);
                    if (!caughtUp && partitionCounts.size() == topics.size()) {
                        if (startupEnds == null) {
                            startupEnds = c.endOffsets(c.assignment(), Duration.ofSeconds(5));
                        }
                        caughtUp = reached(startupEnds);
                        if (caughtUp) {
                            log.info("{} caught up with {}", name, topics);
                        }
                    }
                    if (aheadAtMost != null && (!caughtUp || !paused.isEmpty())) {
                        keepInTimeOrder(c);
                    }
                    synchronized (progress) {
                        progress.notifyAll();
                    }
                    afterPoll.run();
                } catch (WakeupException e) {
                    // stop() woke us up: the loop condition decides
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (RuntimeException e) {
                    log.warn("{}: {}; retrying", name, e.toString());
                    sleepQuietly(1000);
                }
            }
        }
    }

    /**
     * During the start-up replay, pauses the partitions whose last record read is more than {@link #aheadAtMost}
     * later than the earliest last record among the partitions still behind their start-up end, and resumes them
     * once the others have come that far: the topics are read in about the order they were written, so a sink
     * that folds several topics into one state (a job's request on one, its events on another) holds what was in
     * flight at one moment, not everything one topic is ahead of another. The partition the others wait for is
     * never paused, so the replay always moves on; once caught up, nothing is paused.
     */
    private void keepInTimeOrder(KafkaConsumer<String, byte[]> c) {
        Set<TopicPartition> ahead = new HashSet<>();
        if (!caughtUp && startupEnds != null) {
            long frontier = Long.MAX_VALUE;
            List<TopicPartition> behind = new ArrayList<>();
            for (TopicPartition tp : c.assignment()) {
                Long end = startupEnds.get(tp);
                if (end == null || positions.getOrDefault(tp, -1L) >= end) {
                    continue;
                }
                behind.add(tp);
                // Not read from yet: where it stands is unknown, so every partition read from waits for it.
                frontier = Math.min(frontier, lastStamps.getOrDefault(tp, Long.MIN_VALUE));
            }
            for (TopicPartition tp : behind) {
                Long stamp = lastStamps.get(tp);
                if (stamp != null && (frontier == Long.MIN_VALUE || stamp - frontier > aheadAtMost.toMillis())) {
                    ahead.add(tp);
                }
            }
        }
        Set<TopicPartition> resume = new HashSet<>(paused);
        resume.removeAll(ahead);
        Set<TopicPartition> pause = new HashSet<>(ahead);
        pause.removeAll(paused);
        c.resume(resume);
        c.pause(pause);
        paused.clear();
        paused.addAll(ahead);
    }

    /** Puts every partition back where the last batch taken in full left it, so a failed batch is read again. */
    private void rewind(KafkaConsumer<String, byte[]> c) {
        Set<TopicPartition> fromSince = new HashSet<>();
        for (TopicPartition tp : c.assignment()) {
            Long at = positions.get(tp);
            if (at == null) {
                at = startAt.apply(tp);
            }
            if (at == null && since != null) {
                fromSince.add(tp);
            } else if (at == null) {
                c.seekToBeginning(List.of(tp));
            } else {
                c.seek(tp, at);
            }
        }
        if (!fromSince.isEmpty()) {
            seekToTime(c, fromSince, since.get());
        }
    }

    /**
     * Hands one record to the sink. The poll has moved the position past the whole batch: a record that
     * fails is skipped, and the rest of the batch must still reach the sink.
     */
    private void accept(ConsumerRecord<String, byte[]> r) {
        try {
            sink.accept(r);
        } catch (RuntimeException e) {
            log.warn("{}: skipping {}-{}@{} the sink could not take: {}", name, r.topic(), r.partition(), r.offset(),
                    e.toString());
        }
    }

    private void assign(KafkaConsumer<String, byte[]> c) {
        Set<TopicPartition> tps = new HashSet<>();
        for (String topic : topics) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(5));
            if (infos == null || infos.isEmpty()) {
                continue;
            }
            partitionCounts.put(topic, infos.size());
            infos.forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
        }
        if (!tps.equals(c.assignment())) {
            Set<TopicPartition> added = new HashSet<>(tps);
            added.removeAll(c.assignment());
            c.resume(paused);
            paused.clear();
            c.assign(tps);
            Set<TopicPartition> fresh = new HashSet<>();
            for (TopicPartition tp : added) {
                Long next = startAt.apply(tp);
                if (next != null) {
                    c.seek(tp, next);
                } else {
                    fresh.add(tp);
                }
            }
            if (since != null && !fresh.isEmpty()) {
                seekToTime(c, fresh, since.get());
            }
            log.info("{} reads {} partitions of {}", name, tps.size(), topics);
        }
    }

    /**
     * Sets each partition to its first record written at or after {@code at}; one with none, to where its end was
     * before the lookup. Not {@code seekToEnd}: it takes the end when the position is next needed, so a record
     * written in between would be skipped (found when a status view started on an empty store lost a job's
     * request).
     */
    static void seekToTime(KafkaConsumer<String, byte[]> c, Set<TopicPartition> tps, Instant at) {
        Map<TopicPartition, Long> ends = c.endOffsets(tps, Duration.ofSeconds(5));
        Map<TopicPartition, Long> times = new HashMap<>();
        tps.forEach(tp -> times.put(tp, at.toEpochMilli()));
        Map<TopicPartition, OffsetAndTimestamp> found = c.offsetsForTimes(times, Duration.ofSeconds(5));
        tps.forEach(tp -> {
            OffsetAndTimestamp o = found.get(tp);
            c.seek(tp, o != null ? Math.min(o.offset(), ends.get(tp)) : ends.get(tp));
        });
    }

    private KafkaConsumer<String, byte[]> newConsumer() {
        return new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** Parks the reader's thread until {@code nanoTime} (or a stop). */
    private void waitUntil(long nanoTime) {
        long left;
        while (running && (left = nanoTime - System.nanoTime()) > 0) {
            LockSupport.parkNanos(this, left);
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Starts reading, on a thread of its own. */
    public void start() {
        admin = Admin.create(adminConfig);
        running = true;
        thread = new Thread(this::run, "diffq-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Stops reading and closes the clients. */
    public void stop() {
        running = false;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        if (thread != null) {
            LockSupport.unpark(thread);
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
    }

    /** Whether the reader was started and not stopped since. */
    public boolean isRunning() {
        return running;
    }

    /** Its consumer's client metrics (its fetch rate, lag, …); none before it starts. Safe from any thread. */
    public Map<MetricName, ? extends Metric> metrics() {
        KafkaConsumer<String, byte[]> c = consumer;
        return c == null ? Map.of() : c.metrics();
    }

    /** What a {@link TopicReader} reads and how; {@link #build} makes the reader. */
    public static final class Builder {

        private final String name;
        private final List<String> topics;
        private final Map<String, ?> consumerProperties;
        private final Map<String, ?> adminProperties;
        private String clientId;
        private Runnable afterPoll = () -> {
        };
        private IsolationLevel isolationLevel;
        private Supplier<Instant> since;
        private Function<TopicPartition, Long> startAt = tp -> null;
        private Consumer<Map<TopicPartition, Long>> afterBatch = read -> {
        };
        private Duration aheadAtMost;
        private Duration fetchEvery;
        private Duration pollEvery;

        private Builder(String name, List<String> topics, Map<String, ?> consumerProperties,
                Map<String, ?> adminProperties) {
            this.name = Objects.requireNonNull(name, "name");
            this.topics = List.copyOf(topics);
            this.consumerProperties = Objects.requireNonNull(consumerProperties, "consumerProperties");
            this.adminProperties = Objects.requireNonNull(adminProperties, "adminProperties");
            this.clientId = "diffq-" + name;
        }

        /** The consumer's client id, made unique in the JVM with a suffix; {@code diffq-<name>} unless set. */
        public Builder clientId(String clientId) {
            this.clientId = Objects.requireNonNull(clientId, "clientId");
            return this;
        }

        /** Runs on the reader's thread after each poll, e.g. for housekeeping; must not block. */
        public Builder afterPoll(Runnable afterPoll) {
            this.afterPoll = Objects.requireNonNull(afterPoll, "afterPoll");
            return this;
        }

        /**
         * Fetches in batches: each fetch waits on the broker up to {@code wait} for more records, unless
         * {@link #BATCH_BYTES} are there sooner ({@code fetch.max.wait.ms}, {@code fetch.min.bytes}). A tail that
         * tolerates that much delay then costs the broker about one fetch per {@code wait} whatever the rate of
         * records, instead of one per record or so (a fetch is answered at the first new record by default).
         */
        public Builder fetchEvery(Duration wait) {
            this.fetchEvery = Objects.requireNonNull(wait, "wait");
            return this;
        }

        /**
         * Polls at most once per {@code interval} while polls find records: each poll then reads what came in the
         * meantime, so a stream of records costs about one fetch (and one {@link #afterBatch}) per interval instead
         * of one per record or so, and a record is read up to about two intervals late (the fetch sent with one
         * poll is answered at the next record and waits for the next poll). After a poll that found nothing, the
         * next record is read as soon as it comes, as without the option; until
         * {@linkplain TopicReader#isCaughtUp caught up}, and after a poll that returned all it may
         * ({@code max.poll.records}), the reader does not wait either. Zero: no pacing.
         */
        public Builder pollAtMostEvery(Duration interval) {
            if (Objects.requireNonNull(interval, "interval").isNegative()) {
                throw new IllegalArgumentException("interval " + interval + " is negative");
            }
            this.pollEvery = interval;
            return this;
        }

        /**
         * Which records the reader sees; unless set, whatever the consumer properties say (Kafka's default
         * is {@code read_uncommitted}).
         */
        public Builder isolationLevel(IsolationLevel isolationLevel) {
            this.isolationLevel = Objects.requireNonNull(isolationLevel, "isolationLevel");
            return this;
        }

        /**
         * Reads each partition from its first record written at or after the time given when the reader finds
         * the partition, instead of from the beginning: for a reader that needs only recent records of a long
         * topic.
         */
        public Builder since(Supplier<Instant> since) {
            this.since = Objects.requireNonNull(since, "since");
            return this;
        }

        /**
         * Where to start reading a partition when the reader finds it: the offset of the next record to read
         * (e.g. what a persistent sink stored with its data), or {@code null} to start as the reader otherwise
         * would ({@link #since}, else the beginning). An offset below the partition's start reads from the
         * beginning.
         */
        public Builder startAt(Function<TopicPartition, Long> startAt) {
            this.startAt = Objects.requireNonNull(startAt, "startAt");
            return this;
        }

        /**
         * Runs on the reader's thread after the sink has taken a poll's records, with the offset of the next
         * record to read in every assigned partition, before waiters ({@link #awaitRead}, {@link #catchUp})
         * learn that those records were read: a sink that keeps its state on disk writes it here, with the
         * offsets, so that what a waiter is told was read is there. If it throws, the reader logs it and reads
         * the batch again.
         */
        public Builder afterBatch(Consumer<Map<TopicPartition, Long>> afterBatch) {
            this.afterBatch = Objects.requireNonNull(afterBatch, "afterBatch");
            return this;
        }

        /**
         * Reads the start-up replay in about the order the records were written (by their timestamps), across
         * partitions and topics: a partition more than {@code aheadAtMost} ahead of the one furthest behind
         * waits for it. For a sink whose state holds what is in flight (a job read from one topic until its end
         * is read from another): read topic by topic, it would hold everything one topic is ahead of the other.
         */
        public Builder inTimeOrder(Duration aheadAtMost) {
            this.aheadAtMost = Objects.requireNonNull(aheadAtMost, "aheadAtMost");
            return this;
        }

        /**
         * The reader, not started.
         *
         * @param sink takes each record (tombstones too), on the reader's thread
         */
        public TopicReader build(Consumer<ConsumerRecord<String, byte[]>> sink) {
            return new TopicReader(this, sink);
        }
    }
}
