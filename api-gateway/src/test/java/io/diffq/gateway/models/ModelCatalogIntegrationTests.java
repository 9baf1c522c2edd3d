package io.diffq.gateway.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.model.ModelCard;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tools.jackson.databind.JsonNode;

/**
 * What a submit may ask for comes from the workers: a card on {@code diffq.models} makes its model known
 * with its sizes, on every gateway instance, including one started later; a tombstone withdraws it.
 */
class ModelCatalogIntegrationTests {

    private static final ModelCard TINY = ModelCard.of("tiny", 256, 32, 1024, 32, true, List.of("ddim", "euler"))
            .advertisedBy("worker-7", Instant.parse("2026-03-01T12:00:00Z"));

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @Test
    void anAdvertisedModelIsCheckedAgainstItsCardOnEveryInstance() {
        String brokers = kafka.bootstrapServers();
        try (Gateway first = Gateway.start(brokers); WorkerStandIn worker = new WorkerStandIn(brokers)) {
            Api api = first.api();
            assertInvalid(api.submit(job("tiny", 64, 64)), "model", "no worker has advertised a model yet");

            worker.advertise(TINY);

            // The very next submit knows the model: the gateway reads the topic to its end before refusing it.
            assertThat(api.submit(job("tiny", 64, 64)).status()).isEqualTo(202);
            assertInvalid(api.submit(job("tiny", 40, 40)), "width",
                    "model tiny draws square images whose side is a multiple of 32 pixels, from 32 to 1024");
            assertInvalid(api.submit(job("tiny", 64, 32)), "height", "square");
            assertInvalid(api.submit(job("sdxl", 64, 64)), "model", "must be one of [tiny]");
            assertInvalid(api.submit("{\"prompt\":\"p\",\"scheduler\":\"lms\"}"), "scheduler",
                    "model tiny offers the schedulers [ddim, euler]");
            assertListsTiny(api);

            try (Gateway later = Gateway.start(brokers)) {
                // Its first answer comes after it has read the models advertised before it started.
                Api.Response byDefault = later.api().submit("{\"prompt\":\"p\"}");
                assertThat(byDefault.status()).as(byDefault.text()).isEqualTo(202);
                JsonNode job = later.api().get("/v1/jobs/" + byDefault.json().get("id").asString()).json();
                assertThat(job.get("model").asString()).isEqualTo("tiny");
                assertThat(job.get("request").get("width").asInt()).as("the card's default size").isEqualTo(256);
                assertInvalid(later.api().submit(job("tiny", 40, 40)), "width", "multiple of 32");
                assertListsTiny(later.api());
            }

            worker.withdraw("tiny");

            await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                    assertInvalid(api.submit(job("tiny", 64, 64)), "model", "no worker has advertised"));
            assertThat(api.get("/v1/models").json().get("models")).isEmpty();
        }
    }

    private static String job(String model, int width, int height) {
        return "{\"prompt\":\"a red circle\",\"model\":\"" + model + "\",\"width\":" + width + ",\"height\":" + height
                + "}";
    }

    private static void assertInvalid(Api.Response r, String field, String message) {
        assertThat(r.status()).as(r.text()).isEqualTo(400);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.json().get("type").asString()).isEqualTo("https://diffq.io/problems/invalid-request");
        assertThat(r.json().get("field").asString()).isEqualTo(field);
        assertThat(r.json().get("errors").get(0).get("message").asString()).contains(message);
    }

    private static void assertListsTiny(Api api) {
        Api.Response r = api.get("/v1/models");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("application/json");
        JsonNode body = r.json();
        assertThat(body.get("defaultModel").asString()).isEqualTo("tiny");
        assertThat(body.get("models")).hasSize(1);
        JsonNode tiny = body.get("models").get(0);
        assertThat(tiny.get("name").asString()).isEqualTo("tiny");
        assertThat(tiny.get("advertised").asBoolean()).isTrue();
        assertThat(tiny.get("defaultSize").asInt()).isEqualTo(256);
        assertThat(tiny.get("minSize").asInt()).isEqualTo(32);
        assertThat(tiny.get("maxSize").asInt()).isEqualTo(1024);
        assertThat(tiny.get("sizeMultiple").asInt()).isEqualTo(32);
        assertThat(tiny.get("squareOnly").asBoolean()).isTrue();
        assertThat(tiny.get("schedulers").toString()).isEqualTo("[\"ddim\",\"euler\"]");
        assertThat(tiny.get("defaultGuidance").asDouble()).as("the gateway's: the card names none").isEqualTo(7.5);
        assertThat(tiny.get("worker").asString()).isEqualTo("worker-7");
        assertThat(tiny.get("advertisedAt").asString()).isEqualTo("2026-03-01T12:00:00Z");
    }
}
