package io.diffq.gateway.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Past its backlog bound the gateway answers 429 with Retry-After, and it never takes a job it cannot start in time. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        Gateway.SERVED_MODELS,
        "management.server.port=0",
        "diffq.topics.partitions=2",
        "diffq.queue.monitor-interval=200ms",
        "diffq.gateway.backpressure.max-lag=3",
        "diffq.gateway.backpressure.retry-after-when-idle=42s"})
@DirtiesContext
class BackpressureIntegrationTests {

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
    void aFullQueueRefusesNewJobsAndAJobThatCannotMeetItsDeadlineIsRefused() {
        Api api = new Api(port);
        assertThat(api.submit("{\"prompt\":\"first\"}").status()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(10)).until(() -> monitor.snapshot().totalLag() == 1);

        // No worker has finished anything: a job with a deadline cannot be promised a start.
        Api.Response late = api.submit("{\"prompt\":\"urgent\",\"deadlineSeconds\":30}");
        assertThat(late.status()).isEqualTo(429);
        assertThat(late.json().get("detail").asString()).contains("deadline");

        for (int i = 0; i < 3; i++) {
            assertThat(api.submit("{\"prompt\":\"more " + i + "\"}").status()).isEqualTo(202);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> monitor.snapshot().totalLag() == 4);

        Api.Response full = api.submit("{\"prompt\":\"one too many\"}");
        assertThat(full.status()).isEqualTo(429);
        assertThat(full.contentType()).startsWith("application/problem+json");
        assertThat(full.json().get("type").asString()).isEqualTo("https://diffq.io/problems/queue-full");
        assertThat(full.headers().firstValue("Retry-After")).hasValue("42");
        assertThat(full.json().has("id")).isFalse();
        assertThat(new Api(managementPort).get("/actuator/prometheus").text())
                .contains("diffq_jobs_submitted_total{application=\"diffq-gateway\",outcome=\"overloaded\"} 2.0");
    }
}
