package io.diffq.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.testing.ClientMetrics;
import io.diffq.testing.KafkaBrokerExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The reader against a real broker: what a view built on it relies on. Each test reads topics of its own. */
class TopicReaderIntegrationTests {

    private static final Duration LONG = Duration.ofSeconds(30);

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    static Admin admin;
    static KafkaProducer<String, byte[]> producer;

    private final List<TopicReader> readers = new ArrayList<>();
    private final List<String> keys = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void startClients() {
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringSerializer(), new ByteArraySerializer());
    }

    @AfterAll
    static void stopClients() {
        producer.close();
        admin.close();
    }

    @AfterEach
    void stopReaders() {
        readers.forEach(TopicReader::stop);
    }

    @Test
    void replaysEverythingWrittenBeforeItStartedBeforeItIsCaughtUp() throws Exception {
        String topic = createTopic(3);
        for (int i = 0; i < 300; i++) {
            send(topic, "k" + i, "v");
        }
        // Ten records a poll: the replay takes many polls, and the reader is caught up only after the last.
        TopicReader reader = reader(topic, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10), r -> keys.add(r.key()));
        reader.start();

        assertThat(reader.awaitCaughtUp(LONG)).isTrue();
        assertThat(keys).hasSize(300);
    }

    @Test
    void catchUpOnAKeyWaitsUntilTheRecordWrittenJustBeforeIsRead() throws Exception {
        String topic = createTopic(3);
        Semaphore gate = new Semaphore(0);
        TopicReader reader = startedAndCaughtUp(topic, r -> {
            gate.acquireUninterruptibly();
            keys.add(r.key());
        });
        send(topic, "job-1", "queued");

        CompletableFuture<Boolean> found = CompletableFuture.supplyAsync(
                () -> reader.catchUp("job-1", () -> keys.contains("job-1"), LONG));
        // The sink holds the record back: catchUp must wait for it, not answer from what was read so far.
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> !found.isDone());
        gate.release();

        assertThat(found.get(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void catchUpOverEveryPartitionReturnsOnceItHasReadToTheEnds() throws Exception {
        String topic = createTopic(3);
        Semaphore gate = new Semaphore(0);
        TopicReader reader = startedAndCaughtUp(topic, r -> {
            gate.acquireUninterruptibly();
            keys.add(r.key());
        });
        for (int p = 0; p < 3; p++) {
            producer.send(new ProducerRecord<>(topic, p, "in-" + p, bytes("v"))).get(10, TimeUnit.SECONDS);
        }

        CompletableFuture<Boolean> found = CompletableFuture.supplyAsync(() -> reader.catchUp(() -> false, LONG));
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> !found.isDone());
        gate.release(3);

        // Nothing to find: it answers once the ends are reached, long before its timeout.
        assertThat(found.get(10, TimeUnit.SECONDS)).isFalse();
        assertThat(keys).containsExactlyInAnyOrder("in-0", "in-1", "in-2");
    }

    @Test
    void readsATopicCreatedAfterItStartedAndNeverCreatesItItself() throws Exception {
        String topic = "later-" + UUID.randomUUID();
        TopicReader reader = reader(topic, Map.of(), r -> keys.add(r.key()));
        reader.start();

        assertThat(reader.awaitCaughtUp(Duration.ofSeconds(2))).isFalse();
        assertThat(admin.listTopics().names().get(10, TimeUnit.SECONDS)).doesNotContain(topic);

        admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
        send(topic, "k", "v");

        await().atMost(LONG).until(() -> keys.contains("k"));
        assertThat(reader.awaitCaughtUp(LONG)).isTrue();
    }

    @Test
    void aRecordTheSinkCannotTakeIsSkippedAndTheRestAreRead() throws Exception {
        String topic = createTopic(1);
        send(topic, "poison", "v");
        send(topic, "a", "v");
        send(topic, "b", "v");
        TopicReader reader = reader(topic, Map.of(), r -> {
            if (r.key().equals("poison")) {
                throw new IllegalStateException("cannot take " + r.key());
            }
            keys.add(r.key());
        });
        reader.start();

        assertThat(reader.awaitCaughtUp(LONG)).isTrue();
        assertThat(keys).containsExactly("a", "b");
        send(topic, "c", "v");
        await().atMost(LONG).until(() -> keys.contains("c"));
    }

    @Test
    void readCommittedSkipsAbortedTransactionsAndTheDefaultDoesNot() throws Exception {
        String topic = createTopic(1);
        try (KafkaProducer<String, byte[]> tx = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tx-" + topic), new StringSerializer(), new ByteArraySerializer())) {
            tx.initTransactions();
            tx.beginTransaction();
            tx.send(new ProducerRecord<>(topic, "aborted", bytes("v"))).get(10, TimeUnit.SECONDS);
            tx.abortTransaction();
        }
        send(topic, "committed", "v");
        List<String> committedOnly = new CopyOnWriteArrayList<>();
        TopicReader readCommitted = TopicReader.builder("read-committed", List.of(topic), consumerBase(Map.of()),
                        adminBase())
                .isolationLevel(IsolationLevel.READ_COMMITTED)
                .build(r -> committedOnly.add(r.key()));
        readers.add(readCommitted);
        TopicReader byDefault = reader(topic, Map.of(), r -> keys.add(r.key()));
        readCommitted.start();
        byDefault.start();

        assertThat(readCommitted.awaitCaughtUp(LONG)).isTrue();
        assertThat(byDefault.awaitCaughtUp(LONG)).isTrue();
        assertThat(committedOnly).containsExactly("committed");
        assertThat(keys).containsExactly("aborted", "committed");
    }

    @Test
    void commitsNothingForAGroupTheBasePropertiesName() throws Exception {
        String topic = createTopic(1);
        send(topic, "k", "v");
        String group = "group-" + topic;
        TopicReader reader = reader(topic, Map.of(ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, true,
                ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG, 10), r -> keys.add(r.key()));
        reader.start();
        assertThat(reader.awaitCaughtUp(LONG)).isTrue();

        // A consumer with a group and auto-commit commits its positions when it closes.
        reader.stop();

        assertThat(admin.listGroups().all().get(10, TimeUnit.SECONDS)).extracting(GroupListing::groupId)
                .doesNotContain(group);
        assertThat(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS))
                .isEmpty();
    }

    @Test
    void runsTheAfterPollHookOnItsThreadAndStopEndsTheThread() {
        String name = "stopping-" + UUID.randomUUID();
        List<String> hookThreads = new CopyOnWriteArrayList<>();
        TopicReader reader = TopicReader.builder(name, List.of(createTopic(1)), consumerBase(Map.of()), adminBase())
                .afterPoll(() -> hookThreads.add(Thread.currentThread().getName()))
                .build(r -> {
                });
        readers.add(reader);
        reader.start();
        assertThat(reader.awaitCaughtUp(LONG)).isTrue();
        await().atMost(LONG).until(() -> !hookThreads.isEmpty());
        Thread thread = thread("diffq-" + name);

        reader.stop();

        assertThat(hookThreads).containsOnly("diffq-" + name);
        assertThat(thread.isAlive()).isFalse();
        assertThat(reader.isRunning()).isFalse();
    }

    /**
     * Records written one after another, each acknowledged before the next, for two seconds: a reader polling as
     * records come fetches about once per record (hundreds); paced at 100 ms it fetches about once per interval,
     * and still reads every record.
     */
    @Test
    void pacedItFetchesAboutOncePerIntervalWhileRecordsKeepComingNotOncePerRecord() throws Exception {
        String topic = createTopic(1);
        Duration interval = Duration.ofMillis(100);
        TopicReader reader = TopicReader.builder("paced-" + UUID.randomUUID(), List.of(topic), consumerBase(Map.of()),
                adminBase()).pollAtMostEvery(interval).build(r -> keys.add(r.key()));
        readers.add(reader);
        reader.start();
        assertThat(reader.awaitCaughtUp(LONG)).isTrue();
        double before = fetches(reader);
        long start = System.nanoTime();
        int sent = 0;
        while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2) || sent < 200) {
            send(topic, "k" + sent, "v");
            sent++;
        }
        String last = "k" + (sent - 1);
        await().atMost(LONG).until(() -> keys.contains(last));
        double elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(keys).hasSize(sent);
        assertThat(fetches(reader) - before).as("%d records in %.0f ms", sent, elapsedMs)
                .isLessThanOrEqualTo(elapsedMs / interval.toMillis() + 3);
    }

    /**
     * Paced at an hour, a record written to a quiet topic is still read at once: the reader waits between polls
     * only while they find records. And a stop ends a reader waiting out its interval.
     */
    @Test
    void pacedItReadsARecordAfterAQuietSpellAtOnceAndAStopEndsItsWait() throws Exception {
        String topic = createTopic(1);
        String name = "paced-quiet-" + UUID.randomUUID();
        TopicReader reader = TopicReader.builder(name, List.of(topic), consumerBase(Map.of()), adminBase())
                .pollAtMostEvery(Duration.ofHours(1)).build(r -> keys.add(r.key()));
        readers.add(reader);
        reader.start();
        assertThat(reader.awaitCaughtUp(LONG)).isTrue();
        Thread thread = thread("diffq-" + name);

        send(topic, "first", "v");
        await().atMost(LONG).until(() -> keys.contains("first"));
        // The poll that read it found a record: the reader now waits out its hour.
        await().atMost(LONG).until(() -> thread.getState() == Thread.State.TIMED_WAITING
                && java.util.concurrent.locks.LockSupport.getBlocker(thread) == reader);
        reader.stop();

        assertThat(thread.isAlive()).isFalse();
    }

    /** The fetch requests a reader's consumer has made so far (its client's own count). */
    private static double fetches(TopicReader reader) {
        return ClientMetrics.fetchRequests(reader.metrics());
    }

    /**
     * A persistent sink's contract: it starts where its store says, stores each batch with the offsets before a
     * waiter learns it was read, and a batch it failed to store is read again.
     */
    @Test
    void startsWhereTheSinkSaysAndReadsAgainABatchTheSinkFailedToStore() throws Exception {
        String topic = createTopic(2);
        for (int i = 0; i < 10; i++) {
            send(topic, "k" + i, "v");
        }
        TopicPartition p0 = new TopicPartition(topic, 0);
        long p0Records = admin.listOffsets(Map.of(p0, OffsetSpec.latest())).all().get(10, TimeUnit.SECONDS).get(p0)
                .offset();
        Map<TopicPartition, Long> stored = new ConcurrentHashMap<>();
        AtomicInteger inBatch = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger(1);
        TopicReader reader = TopicReader.builder("persistent", List.of(topic), consumerBase(Map.of()), adminBase())
                // Partition 0 as if the sink had stored all of it; partition 1 from the beginning.
                .startAt(tp -> tp.equals(p0) ? p0Records : null)
                .afterBatch(read -> {
                    if (inBatch.getAndSet(0) > 0 && failures.getAndDecrement() > 0) {
                        keys.add("failed");
                        throw new IllegalStateException("disk full");
                    }
                    stored.putAll(read);
                })
                .build(r -> {
                    keys.add(r.partition() + ":" + r.key());
                    inBatch.incrementAndGet();
                });
        readers.add(reader);
        reader.start();
        assertThat(reader.awaitCaughtUp(LONG)).isTrue();
        send(topic, "later", "v");
        await().atMost(LONG).until(() -> keys.stream().anyMatch(k -> k.endsWith(":later")));
        boolean laterInP0 = keys.contains("0:later");
        await().atMost(LONG).until(() -> Long.valueOf(p0Records + (laterInP0 ? 1 : 0)).equals(stored.get(p0)));

        assertThat(keys).noneMatch(k -> k.startsWith("0:k"));
        int failedAt = keys.indexOf("failed");
        assertThat(failedAt).as("a batch failed to store").isPositive();
        // What the failed batch handed over is handed over again.
        assertThat(keys.subList(failedAt + 1, keys.size())).containsAll(keys.subList(0, failedAt));
        assertThat(keys.stream().filter(k -> k.startsWith("1:k")).distinct().count()).isEqualTo(10 - p0Records);
    }

    /**
     * A reader with no stored offset starts at {@code since}; when its first batch fails to store, it reads that
     * batch again from there too, never from the beginning.
     */
    @Test
    void readsFromSinceAndReadsAFailedFirstBatchAgainFromThereNotFromTheBeginning() throws Exception {
        String topic = createTopic(1);
        long old = System.currentTimeMillis() - Duration.ofHours(2).toMillis();
        for (int i = 0; i < 5; i++) {
            producer.send(new ProducerRecord<>(topic, null, old, "old" + i, bytes("v"))).get(10, TimeUnit.SECONDS);
        }
        for (int i = 0; i < 5; i++) {
            send(topic, "new" + i, "v");
        }
        AtomicInteger failures = new AtomicInteger(1);
        AtomicInteger inBatch = new AtomicInteger();
        TopicReader reader = TopicReader.builder("since", List.of(topic), consumerBase(Map.of()), adminBase())
                .since(() -> java.time.Instant.now().minus(Duration.ofHours(1)))
                .afterBatch(read -> {
                    // The first batch that brought records fails to store.
                    if (inBatch.getAndSet(0) > 0 && failures.getAndDecrement() > 0) {
                        keys.add("failed");
                        throw new IllegalStateException("disk full");
                    }
                })
                .build(r -> {
                    keys.add(r.key());
                    inBatch.incrementAndGet();
                });
        readers.add(reader);
        reader.start();
        await().atMost(LONG).until(() -> keys.contains("failed") && keys.lastIndexOf("new4") > keys.indexOf("failed"));

        assertThat(keys).noneMatch(k -> k.startsWith("old"));
        assertThat(keys.subList(keys.indexOf("failed") + 1, keys.size())).containsExactly("new0", "new1", "new2",
                "new3", "new4");
    }

    /**
     * In time order, a topic written all at once before another is still read beside it: no record is handed
     * over more than the allowed lead (plus one poll's records) ahead of the other topic, until the other is
     * read to its end. Without it, the first topic's 60 records all come before the second's.
     */
    @Test
    void inTimeOrderTwoTopicsAreReadSideBySideNotOneAfterTheOther() throws Exception {
        String first = createTopic(1);
        String second = createTopic(1);
        long t0 = System.currentTimeMillis() - Duration.ofMinutes(10).toMillis();
        for (String topic : List.of(first, second)) {
            for (int i = 0; i < 60; i++) {
                producer.send(new ProducerRecord<>(topic, 0, t0 + i * 1000L, topic + "-" + i, bytes("v")));
            }
        }
        producer.flush();
        Map<String, Long> last = new ConcurrentHashMap<>();
        AtomicInteger read = new AtomicInteger();
        List<Long> leads = new CopyOnWriteArrayList<>();
        TopicReader reader = TopicReader.builder("in-order", List.of(first, second),
                        consumerBase(Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5)), adminBase())
                .inTimeOrder(Duration.ofSeconds(3))
                .build(r -> {
                    String other = r.topic().equals(first) ? second : first;
                    Long otherLast = last.get(other);
                    // Only while the other topic has records left: once it is read to its end, this one runs on.
                    if (otherLast == null || otherLast < t0 + 59_000L) {
                        leads.add(r.timestamp() - (otherLast == null ? t0 : otherLast));
                    }
                    last.put(r.topic(), r.timestamp());
                    read.incrementAndGet();
                });
        readers.add(reader);
        reader.start();
        assertThat(reader.awaitCaughtUp(LONG)).isTrue();

        assertThat(read.get()).isEqualTo(120);
        // 3 s allowed, plus the up to 5 records (5 s) of the poll that went past it.
        assertThat(leads).allSatisfy(lead -> assertThat(lead).isLessThanOrEqualTo(8_000L));
    }

    /**
     * A partition with no record since the time asked for starts where its end was at the lookup, not where it
     * is when the consumer next needs a position: a record written in between is read.
     */
    @Test
    void aPartitionWithNothingSinceStartsAtItsEndOfThenNotOfLater() throws Exception {
        String topic = createTopic(1);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]> c =
                new org.apache.kafka.clients.consumer.KafkaConsumer<>(consumerBase(Map.of()),
                        new org.apache.kafka.common.serialization.StringDeserializer(),
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            c.assign(List.of(tp));
            TopicReader.seekToTime(c, java.util.Set.of(tp), java.time.Instant.now());
            send(topic, "written-after-the-lookup", "v");
            await().atMost(LONG).until(() -> {
                c.poll(Duration.ofMillis(200)).forEach(r -> keys.add(r.key()));
                return !keys.isEmpty();
            });
        }
        assertThat(keys).containsExactly("written-after-the-lookup");
    }

    private TopicReader startedAndCaughtUp(String topic, Consumer<ConsumerRecord<String, byte[]>> sink) {
        TopicReader reader = reader(topic, Map.of(), sink);
        reader.start();
        assertThat(reader.awaitCaughtUp(LONG)).isTrue();
        return reader;
    }

    private TopicReader reader(String topic, Map<String, Object> consumerOverrides,
            Consumer<ConsumerRecord<String, byte[]>> sink) {
        TopicReader reader = TopicReader.builder("test", List.of(topic), consumerBase(consumerOverrides), adminBase())
                .build(sink);
        readers.add(reader);
        return reader;
    }

    private static Map<String, Object> consumerBase(Map<String, Object> overrides) {
        Map<String, Object> base = new HashMap<>(overrides);
        base.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return base;
    }

    private static Map<String, Object> adminBase() {
        return Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    }

    private static String createTopic(int partitions) {
        String topic = "t-" + UUID.randomUUID();
        try {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return topic;
    }

    private static void send(String topic, String key, String value) throws Exception {
        producer.send(new ProducerRecord<>(topic, key, bytes(value))).get(10, TimeUnit.SECONDS);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Thread thread(String name) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no thread " + name));
    }
}
