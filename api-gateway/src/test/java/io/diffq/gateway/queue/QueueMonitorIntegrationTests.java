package io.diffq.gateway.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.kafka.Topics;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
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

/** Lag, oldest wait and workers come from the broker's view of the group, and exist with no worker at all. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        Gateway.SERVED_MODELS,
        "management.server.port=0",
        "diffq.topics.partitions=3",
        "diffq.queue.monitor-interval=300ms"})
@DirtiesContext
class QueueMonitorIntegrationTests {

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
    void lagAndOldestWaitGrowWithoutWorkersAndShrinkWhenOneConsumes() {
        Api api = new Api(port);
        for (int i = 0; i < 6; i++) {
            assertThat(api.submit("{\"prompt\":\"waiting " + i + "\"}").status()).isEqualTo(202);
        }

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            assertThat(monitor.snapshot().totalLag()).isEqualTo(6);
            assertThat(monitor.snapshot().workers()).isZero();
            assertThat(monitor.snapshot().oldestWait()).isGreaterThan(Duration.ofMillis(500));
        });
        String scrape = new Api(managementPort).get("/actuator/prometheus").text();
        assertThat(scrape)
                .contains("diffq_queue_lag_records{application=\"diffq-gateway\",partition=\"0\",topic=\"diffq.jobs\"}")
                .contains("diffq_queue_oldest_wait_seconds{application=\"diffq-gateway\"}")
                .contains("diffq_workers{application=\"diffq-gateway\"} 0.0")
                .contains("diffq_jobs_in_state{application=\"diffq-gateway\",state=\"QUEUED\"} 6.0");

        // A member of the worker group takes and commits every job: lag and oldest wait fall to zero.
        try (KafkaConsumer<String, byte[]> worker = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, Topics.WORKER_GROUP,
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false), new StringDeserializer(),
                new ByteArrayDeserializer())) {
            worker.subscribe(java.util.List.of(Topics.JOBS));
            int[] taken = {0};
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                taken[0] += worker.poll(Duration.ofMillis(200)).count();
                worker.commitSync();
                return taken[0] == 6;
            });
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                worker.poll(Duration.ofMillis(50));
                assertThat(monitor.snapshot().totalLag()).isZero();
                assertThat(monitor.snapshot().oldestWait()).isZero();
                assertThat(monitor.snapshot().workers()).isEqualTo(1);
            });
        }
    }
}
