package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        Gateway.SERVED_MODELS,
        "management.server.port=0",
        "diffq.topics.partitions=3"})
@DirtiesContext
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JobsApiIntegrationTests {

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

    private Api api;
    private WorkerStandIn worker;

    @BeforeEach
    void setUp() {
        api = new Api(port);
        if (worker == null) {
            worker = new WorkerStandIn(kafka.bootstrapServers());
        }
    }

    @AfterAll
    void tearDown() {
        worker.close();
    }

    @Test
    @Tag("abuse")
    void aSubmittedJobIsAcceptedPolledAndItsImageFetched() {
        Api.Response submitted = api.submit("{\"prompt\":\"a red circle\",\"width\":64,\"height\":32,\"seed\":7}");

        assertThat(submitted.status()).isEqualTo(202);
        JsonNode body = submitted.json();
        String id = body.get("id").asString();
        assertThat(body.get("state").asString()).isEqualTo("QUEUED");
        assertThat(submitted.headers().firstValue("Location")).hasValue("/v1/jobs/" + id);

        long before = System.currentTimeMillis();
        JsonNode queued = api.get("/v1/jobs/" + id).json();
        long after = System.currentTimeMillis();
        assertThat(queued.get("state").asString()).isEqualTo("QUEUED");
        // While queued, the wait so far: from acceptance to the moment of the answer.
        long created = java.time.Instant.parse(queued.get("createdAt").asString()).toEpochMilli();
        assertThat(queued.get("timings").get("queuedMs").asLong()).isBetween(before - created - 1, after - created + 1);
        assertThat(queued.get("timings").has("inferenceMs")).as("no inference yet").isFalse();
        assertThat(queued.get("request").get("width").asInt()).isEqualTo(64);
        assertThat(queued.get("request").get("seed").asLong()).isEqualTo(7);
        assertThat(queued.get("links").get("self").asString()).isEqualTo("/v1/jobs/" + id);

        // A UUID is the same id in upper case.
        Api.Response upper = api.get("/v1/jobs/" + id.toUpperCase(java.util.Locale.ROOT));
        assertThat(upper.status()).isEqualTo(200);
        assertThat(upper.json().get("id").asString()).isEqualTo(id);

        Api.Response early = api.get("/v1/jobs/" + id + "/image");
        assertThat(early.status()).isEqualTo(409);
        assertThat(early.contentType()).startsWith("application/problem+json");
        assertThat(early.json().get("state").asString()).isEqualTo("QUEUED");

        byte[] png = {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3};
        worker.succeed(id, png);

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(api.get("/v1/jobs/" + id).json().get("state").asString()).isEqualTo("SUCCEEDED"));
        JsonNode done = api.get("/v1/jobs/" + id).json();
        assertThat(done.get("attempt").asInt()).isEqualTo(1);
        assertThat(done.get("progress").get("step").asInt()).isEqualTo(4);
        assertThat(done.get("links").get("image").asString()).isEqualTo("/v1/jobs/" + id + "/image");
        assertThat(done.get("timings").get("inferenceMs").asLong()).isEqualTo(5);
        assertThat(done.get("finishedAt").isString()).isTrue();
        // Once finished: acceptance → the worker's start, and acceptance → the terminal state.
        assertThat(done.get("timings").get("queuedMs").asLong()).isCloseTo(
                millisBetween(done, "createdAt", "startedAt"), org.assertj.core.api.Assertions.within(1L));
        assertThat(done.get("timings").get("totalMs").asLong()).isCloseTo(
                millisBetween(done, "createdAt", "finishedAt"), org.assertj.core.api.Assertions.within(1L));

        Api.Response image = api.get("/v1/jobs/" + id + "/image");
        assertThat(image.status()).isEqualTo(200);
        assertThat(image.contentType()).isEqualTo("image/png");
        assertThat(image.body()).isEqualTo(png);

        assertThat(new Api(managementPort).get("/actuator/prometheus").text()).containsPattern(
                "diffq_job_e2e_seconds_bucket\\{application=\"diffq-gateway\",model=\"simulated\","
                        + "state=\"SUCCEEDED\",le=\"600.0\"} [1-9]");
    }

    @Test
    void aJobCanBeStreamedAsServerSentEventsUntilItEnds() throws Exception {
        String id = api.submit("{\"prompt\":\"streamed\"}").json().get("id").asString();
        HttpClient http = HttpClient.newHttpClient();
        CompletableFuture<HttpResponse<Stream<String>>> stream = http.sendAsync(
                HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs/" + id + "/events"))
                        .header("Accept", "text/event-stream").build(),
                HttpResponse.BodyHandlers.ofLines());
        HttpResponse<Stream<String>> response = stream.get(10, TimeUnit.SECONDS);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");

        worker.succeed(id, new byte[] {9});

        List<String> states = new ArrayList<>();
        CompletableFuture.runAsync(() -> response.body()
                        .filter(line -> line.startsWith("data:"))
                        .map(line -> line.replaceAll(".*\"state\":\"([A-Z]+)\".*", "$1"))
                        .forEach(states::add))
                .get(30, TimeUnit.SECONDS); // the stream ends after the terminal state
        assertThat(states).first().isEqualTo("QUEUED");
        assertThat(states).contains("RUNNING").last().isEqualTo("SUCCEEDED");
    }

    @Test
    void aFailedJobShowsItsErrorAndHasNoImage() {
        String id = api.submit("{\"prompt\":\"doomed\"}").json().get("id").asString();

        worker.fail(id, "out of memory on the GPU");

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(api.get("/v1/jobs/" + id).json().get("state").asString()).isEqualTo("FAILED"));
        JsonNode error = api.get("/v1/jobs/" + id).json().get("error");
        assertThat(error.get("type").asString()).isEqualTo("model-error");
        assertThat(error.get("message").asString()).isEqualTo("out of memory on the GPU");
        assertThat(error.get("retryable").asBoolean()).isFalse();
        assertThat(api.get("/v1/jobs/" + id + "/image").status()).isEqualTo(409);
    }

    @Test
    @Tag("abuse")
    void theSameIdempotencyKeyAndBodyNameTheSameJobAndADifferentBodyIsRejected() {
        String key = "order-" + UUID.randomUUID();
        Api.Response first = api.send(submitWithKey(key, "{\"prompt\":\"once\",\"steps\":7}"));
        Api.Response again = api.send(submitWithKey(key, "{ \"steps\": 7, \"prompt\": \"once\" }"));
        Api.Response other = api.send(submitWithKey(key, "{\"prompt\":\"twice\",\"steps\":7}"));
        Api.Response badKey = api.send(submitWithKey("has spaces", "{\"prompt\":\"x\"}"));

        assertThat(first.status()).isEqualTo(202);
        assertThat(again.status()).isEqualTo(202);
        assertThat(again.json().get("id").asString()).isEqualTo(first.json().get("id").asString());
        assertThat(again.headers().firstValue("Idempotency-Replayed")).hasValue("true");
        assertThat(first.headers().firstValue("Idempotency-Replayed")).hasValue("false");
        assertThat(other.status()).isEqualTo(422);
        assertThat(other.contentType()).startsWith("application/problem+json");
        assertThat(other.json().get("field").asString()).isEqualTo("Idempotency-Key");
        assertThat(badKey.status()).isEqualTo(400);
        assertThat(badKey.json().get("field").asString()).isEqualTo("Idempotency-Key");
    }

    private HttpRequest.Builder submitWithKey(String key, String body) {
        return HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    @Test
    void aCancelIsStoredForTheWorkersAndAFinishedJobCannotBeCanceled() {
        String queued = api.submit("{\"prompt\":\"never mind\"}").json().get("id").asString();
        String done = api.submit("{\"prompt\":\"done\"}").json().get("id").asString();
        worker.succeed(done, new byte[] {1});

        Api.Response canceled = api.send(HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs/" + queued))
                .DELETE());

        assertThat(canceled.status()).isEqualTo(202);
        assertThat(canceled.json().get("cancelRequestedAt").isString()).isTrue();
        assertThat(api.get("/v1/jobs/" + queued).json().get("cancelRequestedAt").isString()).isTrue();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(api.get("/v1/jobs/" + done).json().get("state").asString()).isEqualTo("SUCCEEDED"));
        Api.Response tooLate = api.send(HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs/" + done)).DELETE());
        assertThat(tooLate.status()).isEqualTo(409);
        assertThat(tooLate.json().get("type").asString()).isEqualTo("https://diffq.io/problems/job-finished");
        Api.Response unknown = api.send(HttpRequest.newBuilder(
                URI.create(api.base() + "/v1/jobs/" + UUID.randomUUID())).DELETE());
        assertThat(unknown.status()).isEqualTo(404);
    }

    @Test
    void anUnknownJobIsANotFoundProblem() {
        for (String id : new String[] {UUID.randomUUID().toString(), "not-a-job-id", "%20"}) {
            for (String suffix : new String[] {"", "/image"}) {
                Api.Response r = api.get("/v1/jobs/" + id + suffix);
                assertThat(r.status()).as(id + suffix).isEqualTo(404);
                assertThat(r.contentType()).startsWith("application/problem+json");
                assertThat(r.json().get("type").asString()).isEqualTo("https://diffq.io/problems/job-not-found");
            }
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            {"negativePrompt":"x"}                    | prompt
            {"prompt":7}                              | prompt
            {"prompt":"p","steps":"twenty"}           | steps
            {"prompt":"p","width":99999}              | width
            {"prompt":"p","guidanceScale":31}         | guidanceScale
            {"prompt":"p","seed":-5}                  | seed
            {"prompt":"p","model":"nope"}             | model
            {"prompt":"p",                            | (body)
            not json at all                           | (body)
            """)
    void badInputIsA400ProblemNamingTheField(String body, String field) {
        Api.Response r = api.submit(body);

        assertThat(r.status()).isEqualTo(400);
        assertThat(r.contentType()).startsWith("application/problem+json");
        JsonNode p = r.json();
        assertThat(p.get("type").asString()).isEqualTo("https://diffq.io/problems/invalid-request");
        assertThat(p.get("status").asInt()).isEqualTo(400);
        assertThat(p.get("field").asString()).isEqualTo(field);
        assertThat(p.get("errors").get(0).get("field").asString()).isEqualTo(field);
        assertThat(r.text()).doesNotContain("Exception").doesNotContain("at io.diffq");
    }

    @Test
    void declaredModelsAreListedWithTheGeneralLimitsUntilAWorkerAdvertisesThem() {
        Api.Response r = api.get("/v1/models");

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("defaultModel").asString()).isEqualTo("tiny");
        JsonNode models = r.json().get("models");
        assertThat(models).hasSize(2);
        assertThat(models.get(0).get("name").asString()).isEqualTo("simulated");
        assertThat(models.get(1).get("name").asString()).isEqualTo("tiny");
        for (JsonNode m : models) {
            assertThat(m.get("advertised").asBoolean()).isFalse();
            assertThat(m.get("minSize").asInt()).isEqualTo(8);
            assertThat(m.get("sizeMultiple").asInt()).isEqualTo(8);
            assertThat(m.has("worker")).isFalse();
        }
    }

    @Test
    @Tag("abuse")
    void bothTextsAtTheirLongestWrittenAsEscapesOfEmojiAreAccepted() {
        String emoji = "\\ud83d\\ude00".repeat(1000);
        Api.Response r = api.submit("{\"prompt\":\"" + emoji + "\",\"negativePrompt\":\"" + emoji
                + "\",\"width\":64,\"height\":64,\"steps\":4,\"guidanceScale\":7.5,\"seed\":123456789,"
                + "\"model\":\"simulated\",\"scheduler\":\"euler\"}");
        assertThat(r.status()).as(r.text()).isEqualTo(202);
    }

    @Test
    void anOversizedBodyIsRejectedWith413() {
        String big = "{\"prompt\":\"" + "x".repeat(40_000) + "\"}";

        Api.Response r = api.submit(big);

        assertThat(r.status()).isEqualTo(413);
        assertThat(r.contentType()).startsWith("application/problem+json");
    }

    @Test
    void protocolMistakesAreProblemsToo() {
        Api.Response noJson = api.send(HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs"))
                .header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"p\"}")));
        Api.Response wrongMethod = api.send(HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs"))
                .PUT(HttpRequest.BodyPublishers.ofString("{}")));
        Api.Response unknownPath = api.get("/v2/whatever");

        assertThat(noJson.status()).isEqualTo(415);
        assertThat(wrongMethod.status()).isEqualTo(405);
        assertThat(unknownPath.status()).isEqualTo(404);
        for (Api.Response r : new Api.Response[] {noJson, wrongMethod, unknownPath}) {
            assertThat(r.contentType()).startsWith("application/problem+json");
        }
    }

    @Test
    void healthAndMetricsAreOnlyOnTheManagementPort() {
        Api management = new Api(managementPort);

        assertThat(management.get("/actuator/health").text()).contains("\"UP\"");
        Api.Response metrics = management.get("/actuator/prometheus");
        assertThat(metrics.status()).isEqualTo(200);
        assertThat(metrics.text()).contains("diffq_jobs_submitted_total");
        assertThat(api.get("/actuator/health").status()).isEqualTo(404);
        assertThat(api.get("/actuator/prometheus").status()).isEqualTo(404);
    }

    private static long millisBetween(JsonNode job, String from, String to) {
        return Duration.between(java.time.Instant.parse(job.get(from).asString()),
                java.time.Instant.parse(job.get(to).asString())).toMillis();
    }
}
