package io.diffq.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Job state lives in Kafka: any instance answers for any job, and a restarted one rebuilds its view. */
class TwoGatewaysIntegrationTests {

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @Test
    void aJobAcceptedByOneInstanceIsAtOncePollableOnAnotherAndSurvivesARestart() {
        String brokers = kafka.bootstrapServers();
        Map<String, String> expected = new HashMap<>();
        Map<String, Integer> index = new HashMap<>();
        try (Gateway a = Gateway.start(brokers, Gateway.SERVED_MODELS);
                Gateway b = Gateway.start(brokers, Gateway.SERVED_MODELS);
                WorkerStandIn worker = new WorkerStandIn(brokers)) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Api.Response r = a.api().submit("{\"prompt\":\"job " + i + "\",\"seed\":" + i + "}");
                assertThat(r.status()).isEqualTo(202);
                String id = r.json().get("id").asString();
                ids.add(id);
                index.put(id, i);
                // Read-your-writes across instances: the very next request, on the other instance, finds it.
                Api.Response onB = b.api().get("/v1/jobs/" + id);
                assertThat(onB.status()).as("job %s on the other instance", id).isEqualTo(200);
                assertThat(onB.json().get("request").get("seed").asInt()).isEqualTo(i);
            }
            for (int i = 0; i < ids.size(); i++) {
                String id = ids.get(i);
                if (i % 3 == 0) {
                    worker.succeed(id, new byte[] {1, 2, (byte) i});
                    expected.put(id, "SUCCEEDED");
                } else if (i % 3 == 1) {
                    worker.fail(id, "failure " + i);
                    expected.put(id, "FAILED");
                } else {
                    expected.put(id, "QUEUED");
                }
            }
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> expected.forEach((id, state) -> {
                assertThat(a.api().get("/v1/jobs/" + id).json().get("state").asString()).isEqualTo(state);
                assertThat(b.api().get("/v1/jobs/" + id).json().get("state").asString()).isEqualTo(state);
            }));
        }

        try (Gateway restarted = Gateway.start(brokers, Gateway.SERVED_MODELS)) {
            Api api = restarted.api();
            expected.forEach((id, state) -> {
                Api.Response r = api.get("/v1/jobs/" + id);
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.json().get("state").asString()).as(id).isEqualTo(state);
                // Each job's own failure and its own image (the stand-in's images differ in their last byte),
                // read from the topics, then again from the restarted instance's cache.
                int i = index.get(id);
                if (state.equals("FAILED")) {
                    assertThat(r.json().get("error").get("message").asString()).isEqualTo("failure " + i);
                }
                if (state.equals("SUCCEEDED")) {
                    assertThat(api.get("/v1/jobs/" + id + "/image").body()).containsExactly(1, 2, i);
                    assertThat(api.get("/v1/jobs/" + id + "/image").body()).as("again").containsExactly(1, 2, i);
                }
            });
        }
    }
}
