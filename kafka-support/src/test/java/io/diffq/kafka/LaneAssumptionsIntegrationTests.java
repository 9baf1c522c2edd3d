package io.diffq.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.admin.ShareMemberDescription;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the lanes design (docs/design/lanes.md §1, §5) takes from the broker, checked on the broker diffq ships
 * (Kafka 4.3) before anything is built on it: if one of these fails after an upgrade, the design's choice of one
 * share group for all lanes, one single-partition lane per consumer, and transactional releases must be revisited.
 * Each test uses a share group and topics of its own.
 */
class LaneAssumptionsIntegrationTests {

    private static final Duration LONG = Duration.ofSeconds(60);

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    static Admin admin;

    private final List<KafkaShareConsumer<String, String>> consumers = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final List<Poller> pollers = new ArrayList<>();

    @BeforeAll
    static void startAdmin() {
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
    }

    @AfterAll
    static void stopAdmin() {
        admin.close();
    }

    @AfterEach
    void close() throws Exception {
        pollers.forEach(Poller::stop);
        for (KafkaShareConsumer<String, String> c : consumers) {
            c.close(Duration.ofSeconds(5));
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    /**
     * Members of one share group subscribed to different single-partition topics (one lane each, so the
     * group's subscriptions differ, "heterogeneous"): every member is assigned its own lane's partition,
     * whatever the number of members per lane, including a lane with one member beside a lane with three.
     * (Several topics per member would not hold this: the assignor then gives a member only some of them.)
     */
    @Test
    void everyMemberSubscribedToOneSinglePartitionLaneIsAssignedThatLane() throws Exception {
        String group = "lanes-" + UUID.randomUUID();
        configureGroup(group, Map.of("share.auto.offset.reset", "earliest"));
        Map<String, Integer> membersPerLane = new LinkedHashMap<>();
        membersPerLane.put(topic(), 1);
        membersPerLane.put(topic(), 2);
        membersPerLane.put(topic(), 3);
        Map<String, String> laneOfClient = new HashMap<>();
        membersPerLane.forEach((lane, n) -> {
            for (int i = 0; i < n; i++) {
                String clientId = lane + "-member-" + i;
                laneOfClient.put(clientId, lane);
                poll(consumer(group, clientId, Map.of()), lane);
            }
        });

        await().atMost(LONG).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            ShareGroupDescription d = admin.describeShareGroups(List.of(group)).describedGroups().get(group)
                    .get(10, TimeUnit.SECONDS);
            assertThat(d.members()).hasSize(6);
            for (ShareMemberDescription m : d.members()) {
                Set<TopicPartition> assigned = m.assignment().topicPartitions();
                assertThat(assigned).as("member %s", m.clientId())
                        .containsExactly(new TopicPartition(laneOfClient.get(m.clientId()), 0));
            }
        });

        // And each lane's records reach only that lane's members.
        try (KafkaProducer<String, String> producer = producer(Map.of())) {
            for (String lane : membersPerLane.keySet()) {
                for (int i = 0; i < 5; i++) {
                    producer.send(new ProducerRecord<>(lane, "job-" + i, lane)).get(10, TimeUnit.SECONDS);
                }
            }
        }
        await().atMost(LONG).untilAsserted(() -> assertThat(pollers.stream().mapToInt(p -> p.values.size()).sum())
                .isEqualTo(15));
        for (Poller p : pollers) {
            assertThat(p.values).as("records taken by a member of %s", p.lane).allMatch(p.lane::equals);
        }
        for (String lane : membersPerLane.keySet()) {
            assertThat(pollers.stream().filter(p -> p.lane.equals(lane)).mapToInt(p -> p.values.size()).sum())
                    .as("records of %s taken", lane).isEqualTo(5);
        }
    }

    /**
     * A share group with {@code share.isolation.level=read_committed} (the workers' lanes group is set so; the
     * dispatcher writes without transactions today, see {@code LaneDispatcher}): a record of an open transaction is
     * not delivered, an aborted one never is, and a committed one reaches a consumer waiting in {@code poll}. Measured
     * on 4.3.1 beside this test: a transactional record written while a share fetch is held is delivered only by the
     * next fetch, about 140 ms after the commit whatever the isolation level, where an idempotent one takes about
     * 12 ms; so the dispatcher does not write in transactions.
     */
    @Test
    void aReadCommittedShareGroupDeliversCommittedReleasesOnlyAndToAWaitingPoll() throws Exception {
        String group = "lanes-" + UUID.randomUUID();
        configureGroup(group, Map.of("share.auto.offset.reset", "earliest", "share.isolation.level", "read_committed"));
        String lane = topic();
        KafkaShareConsumer<String, String> consumer = consumer(group, "reader", Map.of());
        consumer.subscribe(List.of(lane));
        // Joined and assigned before anything is written.
        await().atMost(LONG).untilAsserted(() -> {
            consumer.poll(Duration.ofMillis(200)).forEach(r -> {
                throw new AssertionError("unexpected " + r);
            });
            ShareGroupDescription d = admin.describeShareGroups(List.of(group)).describedGroups().get(group)
                    .get(10, TimeUnit.SECONDS);
            assertThat(d.members()).singleElement().satisfies(m -> assertThat(m.assignment().topicPartitions())
                    .containsExactly(new TopicPartition(lane, 0)));
        });

        KafkaProducer<String, String> producer = producer(Map.of(
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "dispatcher-" + UUID.randomUUID()));
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(lane, "aborted", "x")).get(10, TimeUnit.SECONDS);
        producer.abortTransaction();

        producer.beginTransaction();
        producer.send(new ProducerRecord<>(lane, "committed", "x")).get(10, TimeUnit.SECONDS);
        producer.flush();
        // Written, not committed: not delivered.
        assertThat(consumer.poll(Duration.ofSeconds(2))).isEmpty();

        Duration pollTimeout = Duration.ofSeconds(20);
        CompletableFuture<List<String>> waiting = CompletableFuture.supplyAsync(() -> {
            List<String> keys = new ArrayList<>();
            long deadline = System.nanoTime() + pollTimeout.toNanos();
            while (keys.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(pollTimeout)) {
                    keys.add(r.key());
                    consumer.acknowledge(r, AcknowledgeType.ACCEPT);
                }
            }
            consumer.commitSync();
            return keys;
        });
        long committedAt = System.nanoTime();
        producer.commitTransaction();
        List<String> delivered = waiting.get(LONG.toSeconds(), TimeUnit.SECONDS);
        Duration took = Duration.ofNanos(System.nanoTime() - committedAt);
        assertThat(delivered).containsExactly("committed");
        System.out.printf("lanes: a committed release reached a waiting share consumer %d ms after the commit%n",
                took.toMillis());
        // The held fetch is answered when the commit marker lands, not when the poll times out: a release costs
        // the dispatcher's transaction, not a poll timeout.
        assertThat(took).as("commit to delivery").isLessThan(pollTimeout.dividedBy(2));
    }

    private void configureGroup(String group, Map<String, String> configs) throws Exception {
        admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, group),
                configs.entrySet().stream()
                        .map(e -> new AlterConfigOp(new ConfigEntry(e.getKey(), e.getValue()), AlterConfigOp.OpType.SET))
                        .collect(Collectors.toList())))
                .all().get(30, TimeUnit.SECONDS);
    }

    private static String topic() {
        String name = "diffq.lane.t" + UUID.randomUUID().toString().substring(0, 8);
        try {
            admin.createTopics(List.of(new NewTopic(name, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return name;
    }

    private KafkaShareConsumer<String, String> consumer(String group, String clientId, Map<String, Object> extra) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
        config.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        config.putAll(extra);
        KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(config, new StringDeserializer(),
                new StringDeserializer());
        consumers.add(c);
        return c;
    }

    private KafkaProducer<String, String> producer(Map<String, Object> extra) {
        Map<String, Object> config = new HashMap<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers()));
        config.putAll(extra);
        KafkaProducer<String, String> p = new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
        closeables.add(p);
        return p;
    }

    /** A member's poll loop on its own thread (a share consumer is single-threaded): accepts what it takes. */
    private Poller poll(KafkaShareConsumer<String, String> consumer, String lane) {
        Poller p = new Poller(consumer, lane);
        pollers.add(p);
        p.thread.start();
        return p;
    }

    private static final class Poller {
        final String lane;
        final List<String> values = new java.util.concurrent.CopyOnWriteArrayList<>();
        final Thread thread;
        volatile boolean running = true;

        Poller(KafkaShareConsumer<String, String> consumer, String lane) {
            this.lane = lane;
            this.thread = new Thread(() -> {
                consumer.subscribe(List.of(lane));
                while (running) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        values.add(r.topic().equals(lane) ? r.value() : "other:" + r.topic());
                        consumer.acknowledge(r, AcknowledgeType.ACCEPT);
                    }
                    consumer.commitSync();
                }
            }, "poller-" + lane);
        }

        void stop() {
            running = false;
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

}
