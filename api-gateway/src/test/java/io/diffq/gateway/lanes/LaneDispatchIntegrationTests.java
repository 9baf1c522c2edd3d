package io.diffq.gateway.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.Pool;
import io.diffq.gateway.queue.QueueMonitor;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The dispatcher against a real broker: pools declared on {@code diffq.pools} as workers declare them, and stand-in
 * devices that are real share consumers of the lanes (group {@code diffq-lanes}, read_committed) and write what a
 * worker writes when a job runs and succeeds. The tests share a broker; each uses pools of its own.
 */
class LaneDispatchIntegrationTests {

    private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G'};
    private static final Duration LONG = Duration.ofSeconds(60);
    /**
     * Each test's models are its own (its pools serve them), so jobs a failed test left waiting do not count in
     * another's. No pool serves {@code z-none}.
     */
    private static final String MODELS = "diffq.gateway.models.served=a-one,a-two,b-one,b-two,c-one,d-one,e-one,"
            + "f-one,z-none";

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private WorkerStandIn worker;

    @BeforeEach
    void groupAsWorkersSetIt() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, Topics.LANE_GROUP),
                    List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"),
                                    AlterConfigOp.OpType.SET),
                            new AlterConfigOp(new ConfigEntry("share.isolation.level", "read_committed"),
                                    AlterConfigOp.OpType.SET))))
                    .all().get(30, TimeUnit.SECONDS);
        }
        worker = new WorkerStandIn(kafka.bootstrapServers());
    }

    @AfterEach
    void close() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        worker.close();
    }

    @Test
    void eachJobIsReleasedOnceToTheLaneOfAPoolServingItsModel() {
        Gateway gateway = gateway();
        declare(new Pool("a-sim", List.of("a-one")));
        declare(new Pool("a-tiny", List.of("a-two")));
        Device sim = device("a-sim", "a-sim-1");
        Device tiny = device("a-tiny", "a-tiny-1");

        Map<String, String> modelOf = new HashMap<>();
        for (int i = 0; i < 40; i++) {
            String model = i % 3 == 0 ? "a-two" : "a-one";
            modelOf.put(submit(gateway.api(), model, "normal"), model);
        }
        awaitAllSucceeded(gateway.api(), modelOf.keySet());

        assertThat(sim.taken).as("jobs taken from the sim lane, each once")
                .doesNotHaveDuplicates()
                .containsExactlyInAnyOrderElementsOf(ids(modelOf, "a-one"));
        assertThat(tiny.taken).as("jobs taken from the tiny lane, each once")
                .doesNotHaveDuplicates()
                .containsExactlyInAnyOrderElementsOf(ids(modelOf, "a-two"));
    }

    @Test
    void aJobWhosePoolHasNoDeviceWaitsAndRunsWhenADeviceJoins() {
        Gateway gateway = gateway();
        declare(new Pool("b-sim", List.of("b-one")));
        declare(new Pool("b-tiny", List.of("b-two")));
        device("b-sim", "b-sim-1");

        String tinyJob = submit(gateway.api(), "b-two", "normal");
        String unservedJob = submit(gateway.api(), "z-none", "normal");
        List<String> later = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            later.add(submit(gateway.api(), "b-one", "normal"));
        }
        // The simulated jobs submitted after it all ran; the tiny one waits, neither run nor failed.
        awaitAllSucceeded(gateway.api(), later);
        assertThat(state(gateway.api(), tinyJob)).isEqualTo("QUEUED");
        assertThat(state(gateway.api(), unservedJob)).isEqualTo("QUEUED");
        // The queue as backpressure and the dashboards read it: two jobs waiting (not every job diffq.jobs holds,
        // which no share group reads with lanes), one device.
        QueueMonitor monitor = gateway.bean(QueueMonitor.class);
        await().atMost(LONG).untilAsserted(() -> {
            assertThat(monitor.snapshot().totalLag()).isEqualTo(2);
            assertThat(monitor.snapshot().workers()).isEqualTo(1);
            assertThat(monitor.snapshot().oldestWait()).isPositive();
        });
        // Per pool, what KEDA scales each by: the waiting job's model time (the default, 5 s: none has run) in its
        // pool's backlog, nothing in the other's; the devices of each.
        await().atMost(LONG).untilAsserted(() -> assertThat(gateway.managementApi().get("/actuator/prometheus").text())
                .containsPattern("diffq_pool_backlog_seconds\\{[^}]*pool=\"b-tiny\"[^}]*} 5.0")
                .containsPattern("diffq_pool_backlog_seconds\\{[^}]*pool=\"b-sim\"[^}]*} 0.0")
                .containsPattern("diffq_pool_devices\\{[^}]*pool=\"b-tiny\"[^}]*} 0.0")
                .containsPattern("diffq_pool_devices\\{[^}]*pool=\"b-sim\"[^}]*} 1.0"));

        // The queue as a client reads it, pool by pool: the tiny pool has the waiting job and no device, the sim
        // pool a device and nothing waiting; the job of a model no pool serves is counted apart.
        await().atMost(LONG).untilAsserted(() -> {
            var queue = gateway.api().get("/v1/queue").json();
            assertThat(queue.path("unrouted").asLong(-1)).isEqualTo(1);
            assertThat(pool(queue, "b-tiny")).isEqualTo("[b-two] devices 0 waiting 1 running 0 has waited");
            assertThat(pool(queue, "b-sim")).isEqualTo("[b-one] devices 1 waiting 0 running 0");
        });

        Device tiny = device("b-tiny", "b-tiny-1");
        awaitAllSucceeded(gateway.api(), List.of(tinyJob));
        assertThat(tiny.taken).containsExactly(tinyJob);
    }

    @Test
    void aHighJobGoesAheadOfWaitingNormalOnesAndALowOneIsNotStarved() {
        Gateway gateway = gateway("diffq.gateway.dispatch.starvation-credit=3");
        LaneDispatcher dispatcher = gateway.bean(LaneDispatcher.class);
        declare(new Pool("c-sim", List.of("c-one")));
        Device sim = device("c-sim", "c-sim-1");
        sim.pause();
        List<String> all = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            all.add(submit(gateway.api(), "c-one", "normal"));
        }
        // The device holds its first job; the dispatcher released its budget (1 device × (1 + 1 ahead)).
        await().atMost(LONG).until(() -> sim.taken.size() == 1 && dispatcher.waiting("c-one") == 28);
        String low = submit(gateway.api(), "c-one", "low");
        String high = submit(gateway.api(), "c-one", "high");
        all.add(low);
        all.add(high);
        await().atMost(LONG).until(() -> dispatcher.waiting("c-one") == 30);
        // What a client polling each job reads: the high one counts only what the dispatcher will release before
        // it (none; the two already released, if the view still shows them waiting), the low one its credits and
        // the high one, the last normal one every other job.
        String lastNormal = all.get(29);
        await().atMost(LONG).untilAsserted(() -> {
            assertThat(position(gateway.api(), high)).as("high").isBetween(0L, 2L);
            assertThat(position(gateway.api(), low)).as("low").isBetween(3L, 2L + 1 + 3);
            assertThat(position(gateway.api(), lastNormal)).as("last normal").isGreaterThanOrEqualTo(29);
        });
        sim.resume();

        awaitAllSucceeded(gateway.api(), all);
        List<String> order = List.copyOf(sim.taken);
        // Ahead of the high job: the job in hand and the one released behind it.
        assertThat(order.indexOf(high)).as("place of the high job in %s", order).isEqualTo(2);
        // The low job, behind 28 normal ones and the high one, earns a credit at each release that passes it over;
        // at 3 it goes first: after the 2 already released, the high one and 2 normal ones.
        assertThat(order.indexOf(low)).as("place of the low job in %s", order).isBetween(3, 2 + 1 + 3);
        assertThat(order).doesNotHaveDuplicates().hasSize(32);
    }

    @Test
    void whenTheLeadingGatewayStopsAnotherTakesOverAndNoJobIsReleasedTwice() {
        Gateway first = gateway();
        declare(new Pool("d-sim", List.of("d-one")));
        Device sim = device("d-sim", "d-sim-1");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            ids.add(submit(first.api(), "d-one", "normal"));
        }
        awaitAllSucceeded(first.api(), ids);
        Gateway second = gateway();
        sim.pause();
        for (int i = 0; i < 10; i++) {
            ids.add(submit(first.api(), "d-one", "normal"));
        }
        LaneDispatcher leader = first.bean(LaneDispatcher.class);
        await().atMost(LONG).until(() -> sim.taken.size() == 11 && leader.waiting("d-one") == 8);
        assertThat(second.bean(LaneDispatcher.class).leads()).as("the second gateway leads").isFalse();
        first.close();
        closeables.remove(first);
        await().atMost(LONG).until(() -> second.bean(LaneDispatcher.class).leads());
        sim.resume();
        awaitAllSucceeded(second.api(), ids);
        assertThat(sim.taken).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(ids);
        assertThat(laneRecords("d-sim")).as("records on the lane").hasSize(ids.size());
    }

    @Test
    void aKeyWithADeepBacklogDelaysAnotherKeysJobByAboutOneJobPerKeyNotByItsBacklog() {
        List<String> keys = List.of("key-a", "key-b", "key-c", "key-d", "key-e");
        List<String> props = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            props.add("diffq.gateway.security.api-keys[" + i + "].name=" + keys.get(i));
            props.add("diffq.gateway.security.api-keys[" + i + "].key=" + secret(keys.get(i)));
        }
        props.add("diffq.gateway.security.api-keys[5].name=root");
        props.add("diffq.gateway.security.api-keys[5].key=" + secret("root"));
        props.add("diffq.gateway.security.api-keys[5].role=admin");
        props.add("diffq.gateway.job-id-secret=a-test-secret-of-at-least-32-characters");
        Gateway gateway = gateway(props.toArray(String[]::new));
        LaneDispatcher dispatcher = gateway.bean(LaneDispatcher.class);
        declare(new Pool("e-sim", List.of("e-one")));
        Device sim = device("e-sim", "e-sim-1");
        sim.pause();
        List<String> backlog = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            backlog.add(submitAs(gateway.api(), "key-a", "e-one"));
        }
        await().atMost(LONG).until(() -> sim.taken.size() == 1 && dispatcher.waiting("e-one") == 58);
        Map<String, String> others = new HashMap<>();
        for (String key : keys.subList(1, keys.size())) {
            others.put(submitAs(gateway.api(), key, "e-one"), key);
        }
        await().atMost(LONG).until(() -> dispatcher.waiting("e-one") == 62);
        sim.resume();

        List<String> all = new ArrayList<>(backlog);
        all.addAll(others.keySet());
        await().atMost(LONG).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            for (String id : all) {
                Api.Response r = gateway.api().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(gateway.api().base() + "/v1/jobs/" + id))
                        .header("Authorization", "Bearer " + secret("root")).GET());
                assertThat(r.json().get("state").asString()).as(id).isEqualTo("SUCCEEDED");
            }
        });
        List<String> order = List.copyOf(sim.taken);
        assertThat(order).doesNotHaveDuplicates().hasSize(64);
        // Ahead of each of B-E: the two of A's released before they came, then at most one job per key a turn.
        for (Map.Entry<String, String> job : others.entrySet()) {
            assertThat(order.indexOf(job.getKey())).as("place of %s's job in %s", job.getValue(), order)
                    .isLessThanOrEqualTo(2 + keys.size());
        }
    }

    @Test
    void aKeyOfWeightThreeGetsAboutThreeJobsForEachOfAKeyOfWeightOne() {
        Gateway gateway = gateway(
                "diffq.gateway.security.api-keys[0].name=light",
                "diffq.gateway.security.api-keys[0].key=" + secret("light"),
                "diffq.gateway.security.api-keys[1].name=heavy",
                "diffq.gateway.security.api-keys[1].key=" + secret("heavy"),
                "diffq.gateway.job-id-secret=a-test-secret-of-at-least-32-characters",
                "diffq.gateway.dispatch.weights.heavy=3");
        LaneDispatcher dispatcher = gateway.bean(LaneDispatcher.class);
        declare(new Pool("f-sim", List.of("f-one")));
        Device sim = device("f-sim", "f-sim-1");
        sim.pause();
        Map<String, String> keyOf = new HashMap<>();
        for (int i = 0; i < 20; i++) {
            keyOf.put(submitAs(gateway.api(), "light", "f-one"), "light");
        }
        await().atMost(LONG).until(() -> sim.taken.size() == 1 && dispatcher.waiting("f-one") == 18);
        for (int i = 0; i < 20; i++) {
            keyOf.put(submitAs(gateway.api(), "heavy", "f-one"), "heavy");
        }
        await().atMost(LONG).until(() -> dispatcher.waiting("f-one") == 38);
        sim.resume();

        await().atMost(LONG).until(() -> sim.taken.size() == 40);
        List<String> order = List.copyOf(sim.taken);
        assertThat(order).doesNotHaveDuplicates();
        // After the two light jobs released before any heavy one came, 20 releases while both wait: 15 heavy at
        // weight 3 (10 if the weight were ignored), give or take the turn under way when heavy arrived.
        long heavy = order.subList(2, 22).stream().filter(id -> keyOf.get(id).equals("heavy")).count();
        assertThat(heavy).as("heavy jobs among releases 3-22 of %s", order).isBetween(13L, 16L);
    }

    // --- helpers

    private static String secret(String key) {
        return "secret-of-" + key + "-for-the-lane-tests";
    }

    private static String submitAs(Api api, String key, String model) {
        Api.Response r = api.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(api.base() + "/v1/jobs"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + secret(key))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"prompt\":\"a red circle\",\"model\":\"" + model + "\"}")));
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        return r.json().get("id").asString();
    }

    private Gateway gateway(String... extra) {
        List<String> props = new ArrayList<>(List.of(MODELS, "diffq.gateway.dispatch.enabled=true",
                "diffq.gateway.dispatch.lease-session=6s",
                "diffq.queue.monitor-interval=200ms",
                // The tests poll every job they wait for.
                "diffq.gateway.security.rate-limit.requests-per-second=1000",
                "diffq.gateway.security.rate-limit.burst=1000"));
        props.addAll(List.of(extra));
        Gateway g = Gateway.start(kafka.bootstrapServers(), props.toArray(String[]::new));
        closeables.add(g);
        return g;
    }

    private void declare(Pool pool) {
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()), new StringSerializer(),
                new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(Topics.POOLS, pool.name(), new JobCodec().writePool(pool)))
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String submit(Api api, String model, String priority) {
        Api.Response r = api.submit("{\"prompt\":\"a red circle\",\"model\":\"" + model + "\",\"priority\":\""
                + priority + "\"}");
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        return r.json().get("id").asString();
    }

    /** One pool's entry in {@code GET /v1/queue}, as "[models] devices D waiting W running R[ has waited]". */
    private static String pool(tools.jackson.databind.JsonNode queue, String name) {
        for (var p : queue.path("pools")) {
            if (p.path("pool").asString().equals(name)) {
                List<String> models = new ArrayList<>();
                p.path("models").forEach(m -> models.add(m.asString()));
                return models + " devices " + p.path("devices").asLong() + " waiting " + p.path("waiting").asLong()
                        + " running " + p.path("running").asLong()
                        + (p.path("oldestWaitSeconds").asDouble() > 0 ? " has waited" : "");
            }
        }
        return "absent";
    }

    /** The job's {@code queue.position} as a client reads it; -1 when the view shows none. */
    private static long position(Api api, String id) {
        Api.Response r = api.get("/v1/jobs/" + id);
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        var position = r.json().path("queue").path("position");
        return position.isNumber() ? position.asLong() : -1;
    }

    private static String state(Api api, String id) {
        Api.Response r = api.get("/v1/jobs/" + id);
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        return r.json().get("state").asString();
    }

    private static void awaitAllSucceeded(Api api, List<String> ids) {
        await().atMost(LONG).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            for (String id : ids) {
                assertThat(state(api, id)).as(id).isEqualTo("SUCCEEDED");
            }
        });
    }

    private static void awaitAllSucceeded(Api api, java.util.Collection<String> ids) {
        awaitAllSucceeded(api, List.copyOf(ids));
    }

    private static void awaitViewHolds(Api api, String id) {
        await().atMost(LONG).until(() -> api.get("/v1/jobs/" + id).status() == 200);
    }

    private static List<String> ids(Map<String, String> modelOf, String model) {
        return modelOf.entrySet().stream().filter(e -> e.getValue().equals(model)).map(Map.Entry::getKey).toList();
    }

    private List<String> laneRecords(String pool) {
        Map<String, Object> config = new HashMap<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(), ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"));
        try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<>(config, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            var tp = new org.apache.kafka.common.TopicPartition(Topics.lane(pool), 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            List<String> keys = new ArrayList<>();
            while (consumer.position(tp) < end) {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> keys.add(r.key()));
            }
            return keys;
        }
    }

    /**
     * A stand-in device of a pool: a share consumer of the pool's lane taking one job at a time, which writes the
     * job's RUNNING and SUCCEEDED events as a worker would and then accepts the record. While {@code paused} it holds
     * the job in hand and takes no other.
     */
    private Device device(String pool, String clientId) {
        Device d = new Device(pool, clientId);
        closeables.add(d);
        d.thread.start();
        return d;
    }

    private final class Device implements AutoCloseable {
        final List<String> taken = new CopyOnWriteArrayList<>();
        final Thread thread;
        private volatile java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(0);
        volatile boolean running = true;

        /** The device holds the job it takes next (or has in hand) until {@link #resume}. */
        void pause() {
            gate = new java.util.concurrent.CountDownLatch(1);
        }

        void resume() {
            gate.countDown();
        }

        Device(String pool, String clientId) {
            Map<String, Object> config = new HashMap<>();
            config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            config.put(ConsumerConfig.GROUP_ID_CONFIG, Topics.LANE_GROUP);
            config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
            config.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
            config.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
            config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
            KafkaShareConsumer<String, byte[]> consumer = new KafkaShareConsumer<>(config, new StringDeserializer(),
                    new ByteArrayDeserializer());
            thread = new Thread(() -> {
                try {
                    consumer.subscribe(List.of(Topics.lane(pool)));
                    while (running) {
                        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                            taken.add(r.key());
                            while (running && !gate.await(100, TimeUnit.MILLISECONDS)) {
                                // held while paused
                            }
                            worker.succeed(r.key(), PNG);
                            consumer.acknowledge(r, AcknowledgeType.ACCEPT);
                        }
                        consumer.commitSync();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    consumer.close(Duration.ofSeconds(5));
                }
            }, "device-" + clientId);
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(15_000);
        }
    }

}
