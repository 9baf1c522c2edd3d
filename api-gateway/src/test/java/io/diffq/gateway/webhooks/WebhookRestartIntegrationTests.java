package io.diffq.gateway.webhooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The outbox is durable: a gateway that stops while a delivery waits for its retry loses it to nobody. */
class WebhookRestartIntegrationTests {

    private static final String SECRET = WebhookDeliveryIntegrationTests.SECRET;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @Test
    void aDeliveryPendingARetryWhenTheGatewayStopsArrivesOnceFromTheNextGateway() {
        AtomicBoolean accepting = new AtomicBoolean();
        try (WebhookReceiver receiver = new WebhookReceiver(SECRET);
                WorkerStandIn worker = new WorkerStandIn(kafka.bootstrapServers())) {
            receiver.answer((path, attempt) -> accepting.get() ? 200 : 503);
            String[] settings = {Gateway.SERVED_MODELS,
                    "diffq.gateway.webhooks.secrets=" + SECRET,
                    "diffq.gateway.webhooks.allowed-hosts=127.0.0.1:" + receiver.port(),
                    "diffq.gateway.webhooks.initial-backoff=300ms",
                    "diffq.gateway.webhooks.max-backoff=600ms"};
            String id;
            try (Gateway first = Gateway.start(kafka.bootstrapServers(), settings)) {
                Api.Response r = first.api().submit("{\"prompt\":\"p\",\"webhook\":\"" + receiver.url("/hook") + "\"}");
                assertThat(r.status()).as(r.text()).isEqualTo(202);
                id = r.json().get("id").asString();
                worker.succeed(id, new byte[] {9});
                // The receiver fails it twice: a retry is pending when the gateway stops.
                await().atMost(Duration.ofSeconds(60)).until(() -> receiver.received("/hook").size() >= 2);
            }
            int triesBefore = receiver.received("/hook").size();
            accepting.set(true);

            try (Gateway second = Gateway.start(kafka.bootstrapServers(), settings)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> taken(receiver) == 1);
                await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(6)).until(() -> taken(receiver) == 1);
            }
            List<WebhookReceiver.Received> all = receiver.received("/hook");
            assertThat(all.size()).isGreaterThan(triesBefore);
            assertThat(all).allMatch(WebhookReceiver.Received::verified);
            assertThat(all).extracting(WebhookReceiver.Received::id).containsOnly(all.get(0).id());
            assertThat(all.get(all.size() - 1).body()).contains("\"id\":\"" + id + "\"").contains("job.completed");
        }
    }

    private static long taken(WebhookReceiver receiver) {
        return receiver.received("/hook").stream().filter(r -> r.answered() == 200).count();
    }
}
