package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.testing.KafkaBrokerExtension;
import io.diffq.testing.KafkaBrokerProcess;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** With the broker down a submit gets 503 and Retry-After and no job id; with it back, submits succeed. */
@Tag("abuse")
class BrokerOutageIntegrationTests {

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @Test
    void submitsAreRefusedWhileTheBrokerIsDownAndAcceptedWhenItIsBack() {
        KafkaBrokerProcess broker = kafka.broker();
        try (Gateway gateway = Gateway.start(broker.bootstrapServers(), Gateway.SERVED_MODELS)) {
            Api api = gateway.api();
            Api management = gateway.managementApi();
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                    assertThat(management.get("/actuator/health").json().at("/components/queue/status").asString())
                            .isEqualTo("UP"));
            Api.Response before = api.submit("{\"prompt\":\"before\"}");
            assertThat(before.status()).isEqualTo(202);
            String beforeId = before.json().get("id").asString();

            broker.stop();

            for (int i = 0; i < 3; i++) {
                Api.Response down = api.submit("{\"prompt\":\"during " + i + "\"}");
                assertThat(down.status()).isEqualTo(503);
                assertThat(down.headers().firstValue("Retry-After")).as("diffq.gateway.retry-after's default")
                        .hasValue("5");
                assertThat(down.contentType()).startsWith("application/problem+json");
                assertThat(down.json().get("type").asString()).isEqualTo("https://diffq.io/problems/queue-unavailable");
                assertThat(down.json().has("id")).isFalse();
                assertThat(down.text()).doesNotContain("Exception");
            }

            // A job the view holds is still shown; one it does not hold may exist, so it is no 404.
            assertThat(api.get("/v1/jobs/" + beforeId).status()).isEqualTo(200);
            Api.Response unknown = api.get("/v1/jobs/" + java.util.UUID.randomUUID());
            assertThat(unknown.status()).isEqualTo(503);
            assertThat(unknown.json().get("type").asString()).isEqualTo("https://diffq.io/problems/queue-unavailable");
            assertThat(unknown.headers().firstValue("Retry-After")).hasValue("5");

            // Monitoring sees the broker gone (overall health DOWN, naming the queue); readiness stays UP so that
            // the load balancer keeps sending clients to a gateway that answers them as above.
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                Api.Response health = management.get("/actuator/health");
                assertThat(health.status()).isEqualTo(503);
                assertThat(health.json().at("/components/queue/status").asString()).isEqualTo("DOWN");
                assertThat(health.json().at("/components/queue/details/error").asString()).isNotBlank();
            });
            assertThat(management.get("/actuator/health/readiness").status()).isEqualTo(200);

            broker.restart();

            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() ->
                    assertThat(api.submit("{\"prompt\":\"after\"}").status()).isEqualTo(202));
            assertThat(api.get("/v1/jobs/" + beforeId).json().get("state").asString()).isEqualTo("QUEUED");
            assertThat(api.get("/v1/jobs/" + java.util.UUID.randomUUID()).status()).isEqualTo(404);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                    assertThat(management.get("/actuator/health").status()).isEqualTo(200));
        }
    }
}
