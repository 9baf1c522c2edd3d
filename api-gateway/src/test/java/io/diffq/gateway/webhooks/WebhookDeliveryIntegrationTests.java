package io.diffq.gateway.webhooks;

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
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Webhooks end to end on a real broker, a real gateway and a real HTTP receiver that verifies every signature:
 * retries until the receiver takes a delivery, and exactly one delivery taken per event.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebhookDeliveryIntegrationTests {

    static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    private WebhookReceiver receiver;
    private Gateway gateway;
    private WorkerStandIn worker;

    @BeforeAll
    void start() {
        receiver = new WebhookReceiver(SECRET);
        receiver.answer((path, attempt) -> switch (path) {
            case "/flaky" -> attempt <= 2 ? 503 : 200;
            case "/gone" -> 410;
            case "/redirect" -> 302;
            default -> 200;
        });
        gateway = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.enabled=false",
                "diffq.gateway.webhooks.secrets=" + SECRET,
                "diffq.gateway.webhooks.allowed-hosts=127.0.0.1:" + receiver.port(),
                "diffq.gateway.webhooks.initial-backoff=100ms",
                "diffq.gateway.webhooks.max-backoff=400ms");
        worker = new WorkerStandIn(kafka.bootstrapServers());
    }

    @AfterAll
    void stop() {
        for (AutoCloseable c : new AutoCloseable[] {worker, gateway, receiver}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // closing the rest matters more
            }
        }
    }

    private String submit(String webhookUrl, String events) {
        Api.Response r = gateway.api().submit("{\"prompt\":\"a red circle\",\"seed\":3,\"webhook\":\"" + webhookUrl
                + "\"" + (events == null ? "" : ",\"webhookEvents\":" + events) + "}");
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        return r.json().get("id").asString();
    }

    @Test
    void eachEventIsDeliveredOnceAndVerifiedByAReceiverThatFailedTheFirstTwoTries() {
        Map<String, Double> before = deliveries();
        String id = submit(receiver.url("/flaky"), "[\"start\",\"progress\",\"completed\"]");
        Instant start = Instant.now();
        worker.event(JobEvent.running(id, 1, start, "stand-in", "simulated", new Progress(0, 2), start));
        worker.event(JobEvent.running(id, 1, start, "stand-in", "simulated", new Progress(1, 2), Instant.now()));
        worker.event(JobEvent.running(id, 1, start, "stand-in", "simulated", new Progress(2, 2), Instant.now()));
        worker.event(JobEvent.succeeded(id, 1, start, "stand-in", "simulated", new Progress(2, 2), 7,
                new ResultRef(0, 0, "image/png", 3), Instant.now()));

        // Four events (start, two progress steps, completed), each tried three times: 503, 503, 200.
        await().atMost(Duration.ofSeconds(60)).until(() -> ofJob(id).stream().filter(r -> r.answered() == 200).count() == 4);
        // And no try after a delivery was taken.
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> ofJob(id).size() == 12);

        List<WebhookReceiver.Received> all = ofJob(id);
        assertThat(all).allMatch(WebhookReceiver.Received::verified);
        Map<String, List<WebhookReceiver.Received>> byId = all.stream()
                .collect(Collectors.groupingBy(WebhookReceiver.Received::id));
        assertThat(byId).hasSize(4);
        byId.forEach((webhookId, tries) -> {
            assertThat(tries).extracting(WebhookReceiver.Received::answered).as(webhookId).containsExactly(503, 503, 200);
            // Every try of one webhook carries the same body; only the timestamp (and so the signature) moves.
            assertThat(tries).extracting(WebhookReceiver.Received::body).as(webhookId).containsOnly(tries.get(0).body());
        });

        List<JsonNode> payloads = byId.values().stream().map(t -> JSON.readTree(t.get(0).body()))
                .sorted(java.util.Comparator.comparing(p -> p.get("timestamp").asString())).toList();
        assertThat(payloads).extracting(p -> p.get("type").asString())
                .containsExactlyInAnyOrder("job.started", "job.progress", "job.progress", "job.completed");
        assertThat(payloads).allSatisfy(p -> assertThat(p.get("data").get("id").asString()).isEqualTo(id));
        JsonNode started = payloads.stream().filter(p -> p.get("type").asString().equals("job.started")).findFirst()
                .orElseThrow().get("data");
        assertThat(started.get("state").asString()).isEqualTo("RUNNING");
        assertThat(started.get("progress").get("step").asInt()).isEqualTo(0);
        assertThat(payloads.stream().filter(p -> p.get("type").asString().equals("job.progress"))
                .map(p -> p.get("data").get("progress").get("step").asInt())).containsExactlyInAnyOrder(1, 2);

        // The completed event's data is the job as GET /v1/jobs/{id} shows it.
        JsonNode completed = payloads.stream().filter(p -> p.get("type").asString().equals("job.completed"))
                .findFirst().orElseThrow();
        ObjectNode polled = (ObjectNode) gateway.api().get("/v1/jobs/" + id).json();
        polled.remove("queue");
        assertThat(completed.get("data")).isEqualTo(polled);
        assertThat(completed.get("data").get("state").asString()).isEqualTo("SUCCEEDED");
        assertThat(completed.get("data").get("request").get("webhook").asString()).isEqualTo(receiver.url("/flaky"));

        Map<String, Double> after = deliveries();
        for (String type : List.of("job.started", "job.progress", "job.completed")) {
            int events = type.equals("job.progress") ? 2 : 1;
            assertThat(delta(before, after, "retried", type)).as(type + " retried").isEqualTo(2.0 * events);
            assertThat(delta(before, after, "delivered", type)).as(type + " delivered").isEqualTo(events);
        }
    }

    /**
     * A worker paused past its lock lost the job to attempt 2, which finished it; the paused worker's progress
     * event, already in its producer, lands after that (fault campaign, seed 2). Readers refuse it, and so does
     * the trigger: no webhook announces it.
     */
    @Test
    void aLateWriteOfAnAttemptThatLostTheJobAnnouncesNothing() {
        String id = submit(receiver.url("/ok"), "[\"start\",\"progress\",\"completed\"]");
        Instant first = Instant.now();
        worker.event(JobEvent.running(id, 1, first, "paused", "simulated", new Progress(0, 2), first));
        Instant second = first.plusSeconds(20);
        worker.event(JobEvent.running(id, 2, second, "stand-in", "simulated", new Progress(0, 2), second));
        worker.event(JobEvent.succeeded(id, 2, second, "stand-in", "simulated", new Progress(2, 2), 7,
                new ResultRef(0, 0, "image/png", 3), second.plusSeconds(1)));
        worker.event(JobEvent.running(id, 1, first, "paused", "simulated", new Progress(1, 2), first.plusSeconds(1)));

        await().atMost(Duration.ofSeconds(30)).until(() -> ofJob(id).size() >= 3);
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> ofJob(id).size() == 3);
        assertThat(ofJob(id)).extracting(r -> JSON.readTree(r.body()).get("type").asString())
                .containsExactlyInAnyOrder("job.started", "job.started", "job.completed");
        assertThat(gateway.api().get("/v1/jobs/" + id).json().get("attempt").asInt()).isEqualTo(2);
    }

    /**
     * Attempt 1's worker, paused past its lock, wrote its end after attempt 2 had started (a late write: refused);
     * attempt 2's own end is still announced (fault campaign story: a late end while the next attempt runs).
     */
    @Test
    void aLateEndOfAnOlderAttemptWhileTheNextRunsDoesNotSilenceTheNextOnesEnd() {
        String id = submit(receiver.url("/ok"), "[\"start\",\"completed\"]");
        Instant first = Instant.now();
        worker.event(JobEvent.running(id, 1, first, "paused", "simulated", new Progress(0, 2), first));
        Instant second = first.plusSeconds(20);
        worker.event(JobEvent.running(id, 2, second, "stand-in", "simulated", new Progress(0, 2), second));
        worker.event(JobEvent.canceled(id, 1, first, "paused", "simulated", new Progress(1, 2), first.plusSeconds(1)));
        worker.event(JobEvent.succeeded(id, 2, second, "stand-in", "simulated", new Progress(2, 2), 7,
                new ResultRef(0, 0, "image/png", 3), second.plusSeconds(1)));

        await().atMost(Duration.ofSeconds(30)).until(() -> ofJob(id).size() >= 3);
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> ofJob(id).size() == 3);
        assertThat(ofJob(id)).extracting(r -> JSON.readTree(r.body()).get("type").asString())
                .containsExactlyInAnyOrder("job.started", "job.started", "job.completed");
        JsonNode completed = ofJob(id).stream().map(r -> JSON.readTree(r.body()))
                .filter(p -> p.get("type").asString().equals("job.completed")).findFirst().orElseThrow();
        assertThat(completed.get("data").get("state").asString()).isEqualTo("SUCCEEDED");
    }

    /**
     * The trigger is behind the status view (it writes each batch in a transaction; here it is stopped while the
     * events are written): by the time it reads attempt 1's start, the view already shows attempt 2 finished.
     * Attempt 1's start came first in the topic, so it is still announced; its late end is not. (Before the trigger
     * asked the view for its verdict on the record, it judged by the view's state by then and dropped the start:
     * the race that failed this class now and then.)
     */
    @Test
    void aTriggerBehindTheViewJudgesEachEventWhereItLiesInTheTopic() {
        String id = submit(receiver.url("/ok"), "[\"start\",\"completed\"]");
        WebhookTrigger trigger = gateway.bean(WebhookTrigger.class);
        trigger.stop();
        try {
            Instant first = Instant.now();
            worker.event(JobEvent.running(id, 1, first, "paused", "simulated", new Progress(0, 2), first));
            Instant second = first.plusSeconds(20);
            worker.event(JobEvent.running(id, 2, second, "stand-in", "simulated", new Progress(0, 2), second));
            worker.event(JobEvent.canceled(id, 1, first, "paused", "simulated", new Progress(1, 2),
                    first.plusSeconds(1)));
            worker.event(JobEvent.succeeded(id, 2, second, "stand-in", "simulated", new Progress(2, 2), 7,
                    new ResultRef(0, 0, "image/png", 3), second.plusSeconds(1)));
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    gateway.api().get("/v1/jobs/" + id).json().get("state").asString().equals("SUCCEEDED"));
        } finally {
            trigger.start();
        }

        await().atMost(Duration.ofSeconds(30)).until(() -> ofJob(id).size() >= 3);
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> ofJob(id).size() == 3);
        assertThat(ofJob(id)).extracting(r -> JSON.readTree(r.body()).get("data").get("attempt").asInt() + " "
                + JSON.readTree(r.body()).get("type").asString())
                .containsExactlyInAnyOrder("1 job.started", "2 job.started", "2 job.completed");
    }

    /**
     * The broker gave a finished job's record out again with the same delivery count (its acknowledgement was
     * refused when the partition's leader moved), and a worker ran it again: the status view keeps the first
     * terminal state, and no second {@code job.started} or {@code job.completed} goes out.
     */
    @Test
    void aJobRunAgainAfterItsTerminalEventAnnouncesNothingMore() {
        String id = submit(receiver.url("/ok"), "[\"start\",\"completed\"]");
        Instant first = Instant.now();
        worker.event(JobEvent.running(id, 1, first, "stand-in", "simulated", new Progress(0, 2), first));
        worker.event(JobEvent.succeeded(id, 1, first, "stand-in", "simulated", new Progress(2, 2), 7,
                new ResultRef(0, 0, "image/png", 3), first.plusSeconds(1)));
        Instant again = first.plusSeconds(5);
        worker.event(JobEvent.running(id, 1, again, "other", "simulated", new Progress(0, 2), again));
        worker.event(JobEvent.succeeded(id, 1, again, "other", "simulated", new Progress(2, 2), 7,
                new ResultRef(0, 1, "image/png", 3), again.plusSeconds(1)));

        await().atMost(Duration.ofSeconds(30)).until(() -> ofJob(id).size() >= 2);
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> ofJob(id).size() == 2);
        assertThat(ofJob(id)).extracting(r -> JSON.readTree(r.body()).get("type").asString())
                .containsExactlyInAnyOrder("job.started", "job.completed");
        JsonNode completed = ofJob(id).stream().map(r -> JSON.readTree(r.body()))
                .filter(p -> p.get("type").asString().equals("job.completed")).findFirst().orElseThrow();
        assertThat(completed.get("data").get("finishedAt").asString()).isEqualTo(first.plusSeconds(1).toString());
    }

    @Test
    void aJobAskingOnlyForCompletionHearsNothingOfItsStartOrProgress() {
        String id = submit(receiver.url("/ok"), null);
        worker.progress(id, 3);
        worker.succeed(id, new byte[] {1, 2, 3});
        await().atMost(Duration.ofSeconds(30)).until(() -> !ofJob(id).isEmpty());
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> ofJob(id).size() == 1);
        assertThat(JSON.readTree(ofJob(id).get(0).body()).get("type").asString()).isEqualTo("job.completed");
    }

    @Test
    void a410StopsTheDeliveryAfterOneTry() {
        Map<String, Double> before = deliveries();
        String id = submit(receiver.url("/gone"), null);
        worker.fail(id, "the model broke");
        await().atMost(Duration.ofSeconds(30)).until(() -> !ofJob(id).isEmpty());
        // The backoff is at most 400 ms here: a retry would have come.
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> ofJob(id).size() == 1);
        assertThat(JSON.readTree(ofJob(id).get(0).body()).get("data").get("state").asString()).isEqualTo("FAILED");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(delta(before, deliveries(), "stopped", "job.completed")).isEqualTo(1.0));
        assertThat(delta(before, deliveries(), "retried", "job.completed")).isZero();
    }

    @Test
    void aRedirectIsNotFollowedAndFailsTheDelivery() {
        Map<String, Double> before = deliveries();
        String id = submit(receiver.url("/redirect"), null);
        worker.succeed(id, new byte[] {4});
        await().atMost(Duration.ofSeconds(30)).until(() -> !ofJob(id).isEmpty());
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> ofJob(id).size() == 1);
        assertThat(ofJob(id).get(0).answered()).isEqualTo(302);
        assertThat(receiver.received("/redirect-target")).isEmpty();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(delta(before, deliveries(), "failed", "job.completed")).isEqualTo(1.0));
    }

    @Test
    void aWebhookToAnAddressNotAllowedIsA400NamingTheField() {
        int otherPort = receiver.port() == 65535 ? 65534 : receiver.port() + 1;
        for (String url : List.of("http://127.0.0.1:" + otherPort + "/hook", "http://localhost:" + receiver.port() + "/h",
                "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]:" + receiver.port())) {
            Api.Response r = gateway.api().submit("{\"prompt\":\"p\",\"webhook\":\"" + url + "\"}");
            assertThat(r.status()).as(url).isEqualTo(400);
            assertThat(r.contentType()).startsWith("application/problem+json");
            assertThat(r.json().get("errors").get(0).get("field").asString()).as(url).isEqualTo("webhook");
            assertThat(r.json().get("errors").get(0).get("message").asString()).as(url).contains("public addresses");
        }
    }

    /** The receiver's requests for one job (its id is in every payload's data). */
    private List<WebhookReceiver.Received> ofJob(String id) {
        return List.of("/flaky", "/ok", "/gone", "/redirect").stream().flatMap(p -> receiver.received(p).stream())
                .filter(r -> r.body().contains("\"id\":\"" + id + "\"")).toList();
    }

    private static final Pattern DELIVERIES = Pattern.compile(
            "^diffq_webhook_deliveries_total\\{(.*)} (\\S+)$", Pattern.MULTILINE);

    /** {@code diffq_webhook_deliveries_total} from the gateway's Prometheus endpoint, by "outcome event". */
    private Map<String, Double> deliveries() {
        String text = gateway.managementApi().get("/actuator/prometheus").text();
        Map<String, Double> values = new java.util.HashMap<>();
        Matcher m = DELIVERIES.matcher(text);
        while (m.find()) {
            String labels = m.group(1);
            values.put(label(labels, "outcome") + " " + label(labels, "event"), Double.parseDouble(m.group(2)));
        }
        return values;
    }

    private static String label(String labels, String name) {
        Matcher m = Pattern.compile(name + "=\"([^\"]*)\"").matcher(labels);
        return m.find() ? m.group(1) : "";
    }

    private static double delta(Map<String, Double> before, Map<String, Double> after, String outcome, String type) {
        String key = outcome + " " + type;
        return after.getOrDefault(key, 0.0) - before.getOrDefault(key, 0.0);
    }
}
