package io.diffq.gateway.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The backlog in worker-seconds: the default service time while nothing has finished, then what the workers'
 * events measured, with a batch's time shared by its jobs; the drain time is infinite without workers.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        Gateway.SERVED_MODELS,
        "management.server.port=0",
        "diffq.topics.partitions=3",
        "diffq.queue.monitor-interval=300ms",
        "diffq.gateway.backlog.default-service-time=2s"})
@DirtiesContext
class BacklogIntegrationTests {

    private static final Pattern BACKLOG = Pattern.compile(
            "(?m)^diffq_queue_backlog_seconds\\{application=\"diffq-gateway\"} (\\S+)$");
    private static final Pattern DRAIN = Pattern.compile(
            "(?m)^diffq_queue_drain_seconds\\{application=\"diffq-gateway\"} (\\S+)$");

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

    @Test
    void backlogIsDefaultTimesWaitingJobsThenTheMeasuredBatchShareThenZero() {
        Api api = new Api(port);
        assertThat(gauge(BACKLOG)).isEqualTo("0.0");
        assertThat(gauge(DRAIN)).isEqualTo("0.0");

        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Api.Response r = api.submit("{\"prompt\":\"waiting " + i + "\",\"model\":\"simulated\"}");
            assertThat(r.status()).isEqualTo(202);
            ids.add(r.json().get("id").asString());
        }
        // No job has finished: 6 waiting × the default 2 s; no worker, so it never drains.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(gauge(BACKLOG)).isEqualTo("12.0"));
        assertThat(gauge(DRAIN)).isEqualTo("+Inf");

        // One device draws 4 of them as one batch that takes 1 s: 0.25 s of the device per job, not 1 s.
        try (WorkerStandIn worker = new WorkerStandIn(kafka.bootstrapServers())) {
            Instant start = Instant.now();
            for (String id : ids.subList(0, 4)) {
                worker.event(JobEvent.running(id, 1, start, "w1/gpu0", "simulated", new Progress(0, 4), start));
            }
            for (int k = 3; k >= 0; k--) {
                Instant end = start.plusMillis(1000 + k);
                worker.event(JobEvent.succeeded(ids.get(k), 1, start, "w1/gpu0", "simulated", new Progress(4, 4),
                        1000, new ResultRef(0, k, "image/png", 10), end));
            }
            // 2 still waiting × (1.003 s / 4).
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                    assertThat(Double.parseDouble(gauge(BACKLOG))).isEqualTo(2 * 1.003 / 4));

            for (String id : ids.subList(4, 6)) {
                Instant t = Instant.now();
                worker.event(JobEvent.running(id, 1, t, "w1/gpu0", "simulated", new Progress(0, 4), t));
            }
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(gauge(BACKLOG)).isEqualTo("0.0"));
            assertThat(gauge(DRAIN)).isEqualTo("0.0");
        }
    }

    private String gauge(Pattern p) {
        String scrape = new Api(managementPort).get("/actuator/prometheus").text();
        Matcher m = p.matcher(scrape);
        assertThat(m.find()).as("%s in\n%s", p, scrape).isTrue();
        return m.group(1);
    }
}
