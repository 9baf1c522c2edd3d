package io.diffq.gateway.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.Progress;
import io.diffq.common.kafka.Topics;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Lag, oldest wait and workers come from the broker's view of the worker share group, and exist with no worker
 * (and no group) at all. A real {@link KafkaShareConsumer} in group {@value Topics#WORKER_GROUP} plays the
 * worker: it acquires jobs, accepts some, holds one, and {@link WorkerStandIn} writes the events a worker writes.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        Gateway.SERVED_MODELS,
        "management.server.port=0",
        "diffq.topics.partitions=3",
        // Several partitions of diffq.jobs, so that lag is checked per partition and summed over them.
        "diffq.topics.job-partitions=3",
        "diffq.queue.monitor-interval=300ms"})
@DirtiesContext
class QueueMonitorIntegrationTests {

    private static final int JOBS = 6;
    /** How much older the first job is than the others. */
    private static final Duration HEAD_START = Duration.ofSeconds(3);

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @DynamicPropertySource
    static void kafka(DynamicPropertyRegistry registry) {
        registry.add("spring.kafka.bootstrap-servers", kafka::bootstrapServers);
    }

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @Autowired
    QueueMonitor monitor;

    @Test
    void lagCountsFromTheShareStartOffsetAndOldestWaitSkipsJobsInHand() throws Exception {
        Api api = new Api(port);
        // 1. No worker and no group: everything from the log start waits.
        String first = submit(api, "first");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertThat(monitor.snapshot().totalLag()).isEqualTo(1);
            assertThat(monitor.snapshot().oldestWait()).isGreaterThan(HEAD_START);
        });
        for (int i = 1; i < JOBS; i++) {
            submit(api, "waiting " + i);
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertThat(monitor.snapshot().totalLag()).isEqualTo(JOBS);
            assertThat(monitor.snapshot().workers()).isZero();
            assertThat(monitor.snapshot().oldestWait()).isGreaterThan(HEAD_START);
        });
        String scrape = new Api(managementPort).get("/actuator/prometheus").text();
        assertThat(scrape)
                .contains("diffq_queue_lag_records{application=\"diffq-gateway\",partition=\"0\",topic=\"diffq.jobs\"}")
                .contains("diffq_queue_oldest_wait_seconds{application=\"diffq-gateway\"}")
                .contains("diffq_workers{application=\"diffq-gateway\"} 0.0")
                .contains("diffq_jobs_in_state{application=\"diffq-gateway\",state=\"QUEUED\"} " + JOBS + ".0");

        Map<Integer, Long> end = endOffsets();
        assertThat(end.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(JOBS);
        configureShareGroup();
        try (WorkerStandIn events = new WorkerStandIn(kafka.bootstrapServers());
                KafkaShareConsumer<String, byte[]> worker = shareConsumer()) {
            worker.subscribe(List.of(Topics.JOBS));

            // 2. The worker accepts every job it is given until it is given the first one, which it keeps in hand
            // (unacknowledged, so it polls no more). Accepted jobs get the events a worker writes.
            Map<Integer, List<Long>> accepted = new HashMap<>();
            AtomicReference<ConsumerRecord<String, byte[]>> held = new AtomicReference<>();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                for (ConsumerRecord<String, byte[]> r : worker.poll(Duration.ofMillis(200))) {
                    if (r.key().equals(first)) {
                        held.set(r);
                    } else {
                        worker.acknowledge(r, AcknowledgeType.ACCEPT);
                        accepted.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r.offset());
                        events.succeed(r.key(), new byte[] {1});
                    }
                }
                worker.commitSync();
                return held.get() != null;
            });
            ConsumerRecord<String, byte[]> head = held.get();
            assertThat(head.offset()).as("the first job is the first record of its partition").isZero();

            // Lag of a partition: its jobs not finished. The held job counts, as do the jobs not delivered yet;
            // a job accepted behind the held one (out of order) does not.
            Map<Integer, Long> expectedLag = new TreeMap<>();
            end.forEach((p, e) -> expectedLag.put(p, e - accepted.getOrDefault(p, List.of()).size()));
            long undelivered = JOBS - 1 - accepted.values().stream().mapToLong(List::size).sum();
            System.out.printf("share group holds %s, accepted %s of end offsets %s: lag %s, %d not delivered%n",
                    head.partition() + "@" + head.offset(), accepted, end, expectedLag, undelivered);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                assertThat(new TreeMap<>(monitor.snapshot().lagByPartition())).isEqualTo(expectedLag);
                assertThat(monitor.snapshot().workers()).isEqualTo(1);
                // The held job is still QUEUED as far as the gateway knows: it is the oldest waiting.
                assertThat(monitor.snapshot().oldestWait()).isGreaterThan(age(head).minus(Duration.ofSeconds(1)));
            });
            assertThat(expectedLag.get(head.partition())).as("the held job is lag").isPositive();

            // 3. The worker reports the held job RUNNING: in hand, not waiting. Whatever was not delivered yet
            // (submitted after the head start) is now the oldest waiting; or nothing waits.
            events.event(JobEvent.running(head.key(), 1, Instant.now(), "stand-in", "simulated",
                    new Progress(0, 4), Instant.now()));
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                if (undelivered == 0) {
                    assertThat(monitor.snapshot().oldestWait()).isZero();
                } else {
                    assertThat(monitor.snapshot().oldestWait()).isPositive()
                            .isLessThan(age(head).minus(HEAD_START).plus(Duration.ofSeconds(1)));
                }
                // Running is not finished: the lag is unchanged.
                assertThat(new TreeMap<>(monitor.snapshot().lagByPartition())).isEqualTo(expectedLag);
            });

            // 4. The worker accepts the held job and every other one, and writes no event (the gateway lags
            // behind it): nothing is left, whatever the status view says (and wherever the start offsets are:
            // the broker may keep reporting an SPSO behind records all acknowledged).
            worker.acknowledge(head, AcknowledgeType.ACCEPT);
            worker.commitSync();
            long[] left = {undelivered};
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                for (ConsumerRecord<String, byte[]> r : worker.poll(Duration.ofMillis(200))) {
                    worker.acknowledge(r, AcknowledgeType.ACCEPT);
                    left[0]--;
                }
                worker.commitSync();
                return left[0] == 0;
            });
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                worker.poll(Duration.ofMillis(50));
                assertThat(monitor.snapshot().totalLag()).isZero();
                assertThat(monitor.snapshot().oldestWait()).isZero();
                assertThat(monitor.snapshot().workers()).isEqualTo(1);
            });
        }
        // 5. The worker left: the group is empty, its start offsets stay.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(monitor.snapshot().workers()).isZero();
            assertThat(monitor.snapshot().totalLag()).isZero();
        });
        assertThat(new Api(managementPort).get("/actuator/prometheus").text())
                .contains("diffq_workers{application=\"diffq-gateway\"} 0.0")
                .contains("diffq_queue_oldest_wait_seconds{application=\"diffq-gateway\"} 0.0");
    }

    @Test
    void lagIsTheBrokersShareLagElseCountedFromTheStartOffsetElseFromTheLogStart() {
        SharePartitionOffsetInfo withLag = new SharePartitionOffsetInfo(3, Optional.of(0), Optional.of(2L));
        SharePartitionOffsetInfo withoutLag = new SharePartitionOffsetInfo(3, Optional.of(0), Optional.empty());
        assertThat(QueueMonitor.lag(withLag, 0, 10)).as("acknowledged records past the SPSO left out").isEqualTo(2);
        assertThat(QueueMonitor.lag(withoutLag, 0, 10)).isEqualTo(7);
        assertThat(QueueMonitor.lag(withoutLag, 5, 10)).as("records deleted before the group finished them")
                .isEqualTo(5);
        assertThat(QueueMonitor.lag(null, 0, 10)).as("no start offset: from the log start").isEqualTo(10);
        assertThat(QueueMonitor.lag(null, 4, 10)).isEqualTo(6);
        assertThat(QueueMonitor.from(withLag, 0)).isEqualTo(3);
        assertThat(QueueMonitor.from(withLag, 5)).isEqualTo(5);
        assertThat(QueueMonitor.from(null, 4)).isEqualTo(4);
    }

    private static String submit(Api api, String prompt) {
        Api.Response r = api.submit("{\"prompt\":\"" + prompt + "\"}");
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        return r.json().path("id").asString();
    }

    private static Duration age(ConsumerRecord<String, byte[]> r) {
        return Duration.ofMillis(System.currentTimeMillis() - r.timestamp());
    }

    private static Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
    }

    private static Map<Integer, Long> endOffsets() throws Exception {
        try (Admin admin = admin()) {
            Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            for (int p = 0; p < 3; p++) {
                request.put(new TopicPartition(Topics.JOBS, p), OffsetSpec.latest());
            }
            Map<Integer, Long> end = new TreeMap<>();
            admin.listOffsets(request).all().get(30, TimeUnit.SECONDS)
                    .forEach((tp, info) -> end.put(tp.partition(), info.offset()));
            return end;
        }
    }

    /** As the worker does before its share consumers join: a new share partition starts at the log start. */
    private static void configureShareGroup() throws Exception {
        try (Admin admin = admin()) {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, Topics.WORKER_GROUP),
                    List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"),
                            AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        }
    }

    private static KafkaShareConsumer<String, byte[]> shareConsumer() {
        return new KafkaShareConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, Topics.WORKER_GROUP,
                ConsumerConfig.CLIENT_ID_CONFIG, "queue-monitor-test-worker",
                ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit",
                ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, JOBS),
                new StringDeserializer(), new ByteArrayDeserializer());
    }
}
