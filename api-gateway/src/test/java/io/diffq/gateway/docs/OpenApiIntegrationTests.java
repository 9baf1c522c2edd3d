package io.diffq.gateway.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.ModelCard;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import io.diffq.testing.KafkaBrokerProcess;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Holds the OpenAPI description against the running API. Two gateways on one real broker: an open one, and one
 * with an API key and a rate limit of one request (for 401 and 429 on every operation). Before the tests, the
 * requests a client would send are driven against them and every answer recorded with its operation, ending
 * with the broker stopped (503); the tests then check that every documented (operation, status) was answered
 * and every answer documented, with the documented media type, headers, problem type and fields, and that the
 * request schema's bounds are exactly the parser's.
 *
 * <p>Parts of the contract the gateway of this branch does not serve yet are described already; the tests of
 * those are {@link Disabled} with what they wait for, and {@link #PENDING_FIELDS} names the fields they bring.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String KEY = "openapi-test-key-7Hq2Lp9Vx4Rm";
    private static final String OPEN = "open";
    private static final String GUARDED = "guarded";

    /**
     * Documented operations the gateway of this branch does not serve yet: their answers are left out of the
     * checks of all answers (media types, headers, problem types, fields) until their own test is enabled.
     * Remove an entry with the {@link Disabled} of its test.
     */
    static final Set<String> PENDING_OPERATIONS = Set.of();

    /** Documented fields that only the parts still to be merged produce: left out of the "all seen" check. */
    static final Map<String, Set<String>> PENDING_FIELDS = Map.of(
            JobSchemas.JOB_VIEW, Set.of(), JobSchemas.JOB_REQUEST, Set.of());

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    private KafkaBrokerProcess broker;
    private Gateway open;
    private Gateway guarded;
    private WorkerStandIn worker;
    private KafkaProducer<String, byte[]> producer;
    private Description doc;
    private Description guardedDoc;
    private final Recorder recorder = new Recorder();
    /** Bound probes of the request schema: (field, value) and the answer. */
    private final List<Probe> probes = new ArrayList<>();
    private List<String> parserFields;
    private JsonNode modelsSeen;

    record Probe(String field, String body, boolean expectAccepted, Api.Response response) {
    }

    @BeforeAll
    void exerciseTheApi() throws Exception {
        broker = kafka.broker();
        open = Gateway.start(broker.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.enabled=false",
                "diffq.gateway.read-your-writes-timeout=1s",
                // Read by the webhooks feature once merged; ignored before.
                "diffq.gateway.webhooks.allowed-hosts=127.0.0.1:9",
                "diffq.gateway.webhooks.secrets=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        guarded = Gateway.start(broker.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.gateway.job-id-secret=an-openapi-test-secret-of-32-characters",
                "diffq.gateway.security.api-keys[0].name=tester",
                "diffq.gateway.security.api-keys[0].key=" + KEY,
                "diffq.gateway.security.rate-limit.requests-per-second=0.001",
                "diffq.gateway.security.rate-limit.burst=2",
                // With lanes the queue answers pool by pool. No device joins the pool's lane, so this gateway's
                // dispatcher releases nothing of what the open gateway's jobs put in diffq.jobs.
                "diffq.gateway.dispatch.enabled=true",
                "diffq.gateway.dispatch.pools.openapi-pool=square");
        worker = new WorkerStandIn(broker.bootstrapServers());
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new ByteArraySerializer());

        // A model a worker advertised, with bounds of its own: square, multiples of 32, its own guidance.
        worker.advertise(ModelCard.of("square", 64, 32, 512, 32, true, List.of("ddim", "euler"))
                .withDefaultGuidance(5).advertisedBy("stand-in", Instant.now()));
        Api api = open.api();
        await().atMost(Duration.ofSeconds(30)).until(() -> api.get("/v1/models").text().contains("\"square\""));
        doc = new Description(api.get("/v3/api-docs").json());
        guardedDoc = new Description(guarded.api().get("/v3/api-docs").json());

        exerciseOpenGateway(api);
        exerciseGuardedGateway(guarded.api());
        exerciseBrokerOutage(api);
    }

    @AfterAll
    void stop() {
        // The broker back first, so the gateways' clients close without waiting for it.
        if (broker != null && !broker.isRunning()) {
            broker.restart();
        }
        close(producer);
        close(worker);
        close(guarded);
        close(open);
    }

    // --- what a client does ---------------------------------------------------------------------------------

    private Api.Response call(Api api, String method, String template, String id, String body, String... headers) {
        return recorder.call(OPEN, api, method, template, id, null, body, headers);
    }

    private String submit(Api api, String body, String... headers) {
        Api.Response r = call(api, "POST", "/v1/jobs", null, body, headers);
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        return r.json().get("id").asString();
    }

    private void exerciseOpenGateway(Api api) throws Exception {
        // First, while nothing waits: a job with a deadline is only admitted while it can start in time.
        String queued = submit(api, "{\"prompt\":\"a queued job\",\"negativePrompt\":\"blur\",\"steps\":4,"
                + "\"seed\":7,\"scheduler\":\"EULER\",\"deadlineSeconds\":86400,\"model\":\"tiny\"}");
        call(api, "GET", "/v1/models", null, null);
        call(api, "GET", "/v1/jobs/{id}", queued, null);
        call(api, "GET", "/v1/jobs/{id}/image", queued, null);

        String succeeded = submit(api, "{\"prompt\":\"a red circle\",\"model\":\"square\",\"width\":64,\"height\":64}");
        worker.succeed(succeeded, png());
        awaitState(api, succeeded, "SUCCEEDED");
        call(api, "GET", "/v1/jobs/{id}", succeeded, null);
        call(api, "GET", "/v1/jobs/{id}/image", succeeded, null);
        call(api, "GET", "/v1/jobs/{id}/events", succeeded, null);
        call(api, "GET", "/v1/jobs/{id}/events", succeeded, null, "Last-Event-ID", "0");
        call(api, "DELETE", "/v1/jobs/{id}", succeeded, null);
        call(api, "POST", "/v1/jobs/{id}/cancel", succeeded, null);

        String failed = submit(api, "{\"prompt\":\"a failing job\"}");
        worker.fail(failed, "the model broke");
        awaitState(api, failed, "FAILED");
        call(api, "GET", "/v1/jobs/{id}", failed, null);

        String running = submit(api, "{\"prompt\":\"a running job\"}");
        worker.progress(running, 3);
        await().atMost(Duration.ofSeconds(20)).until(() -> api.get("/v1/jobs/" + running).json().has("progress"));
        call(api, "GET", "/v1/jobs/{id}", running, null);

        String canceled = submit(api, "{\"prompt\":\"a job to cancel\"}");
        call(api, "DELETE", "/v1/jobs/{id}", canceled, null);
        await().atMost(Duration.ofSeconds(20)).until(() ->
                api.get("/v1/jobs/" + canceled).json().has("cancelRequestedAt"));
        call(api, "GET", "/v1/jobs/{id}", canceled, null);
        call(api, "POST", "/v1/jobs/{id}/cancel", submit(api, "{\"prompt\":\"canceled by POST\"}"), null);

        // An image whose record is gone: the job's result points at a record of another job (as after the TTL).
        String lost = submit(api, "{\"prompt\":\"an image past its retention\"}");
        RecordMetadata other = producer.send(new ProducerRecord<>(Topics.RESULTS, "another-job", png()))
                .get(30, TimeUnit.SECONDS);
        Instant now = Instant.now();
        worker.event(JobEvent.running(lost, 1, now, "stand-in", "tiny", new Progress(0, 4), now));
        worker.event(JobEvent.succeeded(lost, 1, now, "stand-in", "tiny", new Progress(4, 4), 5,
                new ResultRef(other.partition(), other.offset(), "image/png", 10), now));
        awaitState(api, lost, "SUCCEEDED");
        call(api, "GET", "/v1/jobs/{id}/image", lost, null);

        String unknown = UUID.randomUUID().toString();
        for (String template : List.of("/v1/jobs/{id}", "/v1/jobs/{id}/image", "/v1/jobs/{id}/events")) {
            call(api, "GET", template, unknown, null);
        }
        call(api, "DELETE", "/v1/jobs/{id}", unknown, null);
        call(api, "POST", "/v1/jobs/{id}/cancel", unknown, null);

        // Submits a client gets wrong, and idempotent retries.
        call(api, "POST", "/v1/jobs", null, "{\"prompt\":\"\",\"steps\":0,\"seed\":\"7\"}");
        call(api, "POST", "/v1/jobs", null, "{\"prompt\":\"" + "x".repeat(40_000) + "\"}");
        call(api, "POST", "/v1/jobs", null, "prompt=a cat", "Content-Type", "text/plain");
        String key = "openapi-" + UUID.randomUUID();
        call(api, "POST", "/v1/jobs", null, "{\"prompt\":\"idempotent\"}", "Idempotency-Key", key);
        call(api, "POST", "/v1/jobs", null, "{\"prompt\":\"idempotent\"}", "Idempotency-Key", key);
        call(api, "POST", "/v1/jobs", null, "{\"prompt\":\"something else\"}", "Idempotency-Key", key);
        call(api, "POST", "/v1/jobs", null, "{\"prompt\":\"with a webhook\",\"webhook\":\"http://127.0.0.1:9/hook\","
                + "\"webhookEvents\":[\"completed\"]}");
        preferWait(api);

        // The endpoints the main session adds: the list, the queue.
        recorder.call(OPEN, api, "GET", "/v1/jobs", null, null, null);
        recorder.call(OPEN, api, "GET", "/v1/jobs", null, "?state=SUCCEEDED&limit=1", null);
        recorder.call(OPEN, api, "GET", "/v1/jobs", null, "?limit=0", null);
        recorder.call(OPEN, api, "GET", "/v1/jobs", null, "?state=NOT-A-STATE", null);
        call(api, "GET", "/v1/queue", null, null);

        probeRequestBounds(api);
        modelsSeen = api.get("/v1/models").json();
    }

    /** {@code Prefer: wait}: the job is finished by a worker while the submit waits (once the gateway waits). */
    private void preferWait(Api api) throws Exception {
        try (KafkaConsumer<String, byte[]> jobs = tapJobs()) {
            CompletableFuture<Api.Response> waiting = CompletableFuture.supplyAsync(() -> call(api, "POST", "/v1/jobs",
                    null, "{\"prompt\":\"wait for me\"}", "Prefer", "wait=20"));
            String id = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (id == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : jobs.poll(Duration.ofMillis(200))) {
                    id = r.key();
                }
            }
            assertThat(id).as("the waiting submit's job on " + Topics.JOBS).isNotNull();
            worker.succeed(id, png());
            waiting.get(30, TimeUnit.SECONDS);
        }
    }

    private KafkaConsumer<String, byte[]> tapJobs() {
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false), new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> partitions = c.partitionsFor(Topics.JOBS).stream()
                .map(p -> new TopicPartition(Topics.JOBS, p.partition())).toList();
        c.assign(partitions);
        c.seekToEnd(partitions);
        partitions.forEach(c::position);
        return c;
    }

    /** 401 without a key and 429 past the rate limit, on every documented operation. */
    private void exerciseGuardedGateway(Api api) {
        String id = UUID.randomUUID().toString();
        String bearer = "Bearer " + KEY;
        // The two requests the bucket holds: the queue, which shows a caller with a key its own quota ("you") and,
        // with lanes, the pools, and a job above the key's max-priority (normal by default), refused with 403.
        assertThat(recorder.call(GUARDED, api, "GET", "/v1/queue", null, null, null, "Authorization", bearer).status())
                .isEqualTo(200);
        assertThat(recorder.call(GUARDED, api, "POST", "/v1/jobs", null, null,
                "{\"prompt\":\"an urgent guarded job\",\"priority\":\"high\"}", "Authorization", bearer).status())
                .isEqualTo(403);
        for (String op : doc.operations()) {
            String[] mp = op.split(" ", 2);
            String body = mp[0].equals("POST") && mp[1].equals("/v1/jobs") ? "{\"prompt\":\"a guarded job\"}" : null;
            recorder.call(GUARDED, api, mp[0], mp[1], id, null, body);
            recorder.call(GUARDED, api, mp[0], mp[1], id, null, body, "Authorization", bearer);
        }
    }

    /** With the broker gone: 503 with Retry-After wherever the gateway cannot answer from what it holds. */
    private void exerciseBrokerOutage(Api api) {
        broker.stop();
        String unknown = UUID.randomUUID().toString();
        for (String op : doc.operations()) {
            if (doc.statuses(op).contains(503)) {
                String[] mp = op.split(" ", 2);
                String body = mp[1].equals("/v1/jobs") ? "{\"prompt\":\"while the broker is down\"}" : null;
                recorder.call(OPEN, api, mp[0], mp[1], unknown, null, body);
            }
        }
    }

    /**
     * For each bounded field of the request schema: the documented bounds accepted, one step past them refused
     * naming the field. Width and height are probed per model, from its card in {@code GET /v1/models}.
     */
    private void probeRequestBounds(Api api) {
        Api.Response unknownField = call(api, "POST", "/v1/jobs", null, "{\"prompt\":\"x\",\"zz\":1}");
        Matcher m = Pattern.compile("expected one of \\[([^]]*)]").matcher(unknownField.text());
        assertThat(m.find()).as(unknownField.text()).isTrue();
        parserFields = List.of(m.group(1).split(",\\s*"));

        JsonNode properties = doc.schema(JobSchemas.JOB_REQUEST).get("properties");
        for (String field : List.of("steps", "guidanceScale", "seed", "deadlineSeconds")) {
            JsonNode s = properties.get(field);
            boolean integer = s.get("type").asString().equals("integer");
            String min = s.get("minimum").asString();
            String max = s.get("maximum").asString();
            probe(api, field, min, true);
            probe(api, field, max, true);
            if (integer) {
                probe(api, field, String.valueOf(Long.parseLong(min) - 1), false);
                probe(api, field, String.valueOf(Long.parseLong(max) + 1), false);
            } else {
                probe(api, field, String.valueOf(Math.nextDown(Double.parseDouble(min))), false);
                probe(api, field, String.valueOf(Math.nextUp(Double.parseDouble(max))), false);
            }
        }
        for (String field : List.of("prompt", "negativePrompt")) {
            int max = properties.get(field).get("maxLength").asInt();
            probe(api, field, quoted("p".repeat(max)), true);
            probe(api, field, quoted("p".repeat(max + 1)), false);
            if (properties.get(field).has("minLength")) {
                int min = properties.get(field).get("minLength").asInt();
                probe(api, field, quoted("p".repeat(min)), true);
                probe(api, field, quoted("p".repeat(min - 1)), false);
            }
        }
        for (JsonNode card : api.get("/v1/models").json().get("models")) {
            String model = card.get("name").asString();
            int min = card.get("minSize").asInt();
            int max = card.get("maxSize").asInt();
            int multiple = card.get("sizeMultiple").asInt();
            for (String field : List.of("width", "height")) {
                String other = field.equals("width") ? "height" : "width";
                for (int side : new int[] {min, max}) {
                    probeSize(api, model, field, side, other, side, true);
                }
                probeSize(api, model, field, min - 1, other, min, false);
                probeSize(api, model, field, max + 1, other, max, false);
                if (multiple > 1) {
                    probeSize(api, model, field, min + 1, other, min, false);
                }
            }
        }
    }

    private void probe(Api api, String field, String json, boolean accepted) {
        String body = field.equals("prompt") ? "{\"prompt\":" + json + "}"
                : "{\"prompt\":\"bounds\",\"" + field + "\":" + json + "}";
        probes.add(new Probe(field, body, accepted, call(api, "POST", "/v1/jobs", null, body)));
    }

    private void probeSize(Api api, String model, String field, int side, String other, int otherSide,
            boolean accepted) {
        String body = "{\"prompt\":\"sizes\",\"model\":\"" + model + "\",\"" + field + "\":" + side + ",\"" + other
                + "\":" + otherSide + "}";
        probes.add(new Probe(field, body, accepted, call(api, "POST", "/v1/jobs", null, body)));
    }

    // --- the description as served ------------------------------------------------------------------------

    @Test
    void theDescriptionIsOpenApi31ServedOutsideTheApiKeyFilter() {
        assertThat(doc.root().get("openapi").asString()).startsWith("3.1");
        assertThat(doc.root().at("/info/title").asString()).isEqualTo("diffq API");
        // The guarded gateway serves it without a key (and its bucket of two was spent on /v1 long ago).
        Api.Response r = guarded.api().get("/v3/api-docs");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("application/json");
        assertThat(guardedDoc.root().at("/security/0").has(ApiDescription.BEARER)).isTrue();
        assertThat(guardedDoc.root().at("/components/securitySchemes/apiKey/scheme").asString()).isEqualTo("bearer");
        assertThat(doc.root().has("security")).as("the open gateway asks for no key").isFalse();
        assertThat(guardedDoc.operations()).isEqualTo(doc.operations());
        for (String op : doc.operations()) {
            assertThat(guardedDoc.statuses(op)).as(op).isEqualTo(doc.statuses(op));
        }
    }

    @Test
    void everyEndpointOfTheControllersIsDescribed() {
        List<String> undescribed = doc.operations().stream()
                .filter(op -> doc.operation(op).has(ApiDescription.UNDESCRIBED)).toList();
        assertThat(undescribed).as("endpoints the controllers serve that ApiDescription does not describe").isEmpty();
    }

    @Test
    void swaggerUiLoadsFromTheGatewayAndReadsTheDescription() {
        Api api = guarded.api();
        Api.Response redirect = api.get("/swagger-ui.html");
        assertThat(redirect.status()).isEqualTo(302);
        assertThat(redirect.headers().firstValue("Location")).hasValueSatisfying(l ->
                assertThat(l).endsWith("/swagger-ui/index.html"));
        Api.Response page = api.get("/swagger-ui/index.html");
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("text/html");
        assertThat(page.text()).contains("swagger-ui-bundle.js", "swagger-initializer.js").doesNotContain("http");
        for (String asset : List.of("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css")) {
            assertThat(api.get("/swagger-ui/" + asset).status()).as(asset).isEqualTo(200);
        }
        // The initializer points at the gateway's own config, and that at the description: no CDN, no petstore.
        String initializer = api.get("/swagger-ui/swagger-initializer.js").text();
        assertThat(initializer).contains("/v3/api-docs/swagger-config").doesNotContain("https://", "http://");
        JsonNode config = api.get("/v3/api-docs/swagger-config").json();
        assertThat(config.get("url").asString()).isEqualTo("/v3/api-docs");
        assertThat(config.get("validatorUrl").asString()).isEqualTo("none");
    }

    // --- (a) and (b): every documented status answered, every answer documented ----------------------------

    @Test
    void submitJob() {
        assertOperation("POST /v1/jobs", Set.of());
    }

    @Test
    void getJob() {
        assertOperation("GET /v1/jobs/{id}", Set.of());
    }

    @Test
    void cancelJob() {
        assertOperation("DELETE /v1/jobs/{id}", Set.of());
    }

    @Test
    void streamJob() {
        assertOperation("GET /v1/jobs/{id}/events", Set.of());
    }

    @Test
    void getJobImage() {
        assertOperation("GET /v1/jobs/{id}/image", Set.of());
    }

    @Test
    void listModels() {
        assertOperation("GET /v1/models", Set.of());
    }

    @Test
    void submitJobWithPreferWait() {
        assertOperation("POST /v1/jobs", Set.of());
    }

    @Test
    void listJobs() {
        assertOperation("GET /v1/jobs", Set.of());
        JsonNode limit = doc.operation("GET /v1/jobs").get("parameters").valueStream()
                .filter(p -> p.get("name").asString().equals("limit")).findFirst().orElseThrow().get("schema");
        Api api = open.api();
        long min = limit.get("minimum").asLong();
        long max = limit.get("maximum").asLong();
        assertThat(api.get("/v1/jobs?limit=" + min).status()).isEqualTo(200);
        assertThat(api.get("/v1/jobs?limit=" + max).status()).isEqualTo(200);
        for (long refused : new long[] {min - 1, max + 1}) {
            Api.Response r = api.get("/v1/jobs?limit=" + refused);
            assertThat(r.status()).as("limit=" + refused).isEqualTo(400);
            assertThat(r.json().get("field").asString()).isEqualTo("limit");
        }
    }

    @Test
    void cancelJobByPost() {
        assertOperation("POST /v1/jobs/{id}/cancel", Set.of());
    }

    @Test
    void getQueue() {
        assertOperation("GET /v1/queue", Set.of());
    }

    @Test
    void everyStatusEventHasAnId() {
        for (Recorder.Call c : calls("GET /v1/jobs/{id}/events", 200)) {
            for (String frame : c.response().text().split("\n\n")) {
                if (frame.contains("event: status") || frame.contains("event:status")) {
                    assertThat(frame).as(c.toString()).containsPattern("(?m)^id:");
                }
            }
        }
    }

    /**
     * The statuses an operation documents are those the requests above got from it, apart from {@code pending}
     * (documented for work not merged yet), and the other way round.
     */
    private void assertOperation(String operation, Set<Integer> pending) {
        assertThat(doc.operations()).as("documented operations").contains(operation);
        Set<Integer> documented = new TreeSet<>(doc.statuses(operation));
        Set<Integer> produced = new TreeSet<>(recorder.statusesByOperation().getOrDefault(operation, List.of()));
        Set<Integer> undocumented = new TreeSet<>(produced);
        undocumented.removeAll(documented);
        Set<Integer> neverProduced = new TreeSet<>(documented);
        neverProduced.removeAll(produced);
        neverProduced.removeAll(pending);
        assertThat(undocumented).as(operation + ": statuses answered but not documented (answers: "
                + calls(operation).stream().filter(c -> undocumented.contains(c.status())).toList() + ")").isEmpty();
        assertThat(neverProduced).as(operation + ": documented statuses no request of this test got").isEmpty();
    }

    // --- what each answer carries ---------------------------------------------------------------------------

    @Test
    void everyAnswerHasTheDocumentedMediaTypeAndHeaders() {
        List<String> wrong = new ArrayList<>();
        for (Recorder.Call c : documentedCalls()) {
            Set<String> types = doc.mediaTypes(c.operation(), c.status());
            String type = c.response().contentType().split(";")[0].strip();
            if (!types.isEmpty() && !types.contains(type)) {
                wrong.add(c + ": Content-Type " + type + ", documented " + types);
            }
            for (String header : doc.requiredHeaders(c.operation(), c.status())) {
                if (c.response().headers().firstValue(header).isEmpty()) {
                    wrong.add(c + ": no " + header + " header");
                }
            }
        }
        assertThat(wrong).isEmpty();
    }

    @Test
    void everyProblemHasADocumentedTypeAndItsTitle() {
        List<String> wrong = new ArrayList<>();
        for (Recorder.Call c : documentedCalls()) {
            if (c.status() < 400) {
                continue;
            }
            Map<String, String> kinds = doc.problemKinds(c.operation(), c.status());
            JsonNode body = c.response().json();
            String type = body.get("type").asString();
            if (!kinds.containsKey(type)) {
                wrong.add(c + ": type " + type + " not among " + kinds.keySet());
            } else if (!kinds.get(type).equals(body.get("title").asString())) {
                wrong.add(c + ": title '" + body.get("title").asString() + "', documented '" + kinds.get(type) + "'");
            }
            if (body.get("status").asInt() != c.status()) {
                wrong.add(c + ": status member " + body.get("status"));
            }
        }
        assertThat(wrong).isEmpty();
        assertThat(calls("POST /v1/jobs", 400)).isNotEmpty();
    }

    // --- (d): fields -----------------------------------------------------------------------------------------

    @Test
    void everyFieldAnsweredIsDocumented() {
        List<String> undocumented = new ArrayList<>();
        observedFields().forEach((component, seen) -> {
            Set<String> documented = doc.fieldPaths(doc.schema(component));
            seen.forEach((field, example) -> {
                if (!documented.contains(field)) {
                    undocumented.add(component + "." + field + " (in " + example + ")");
                }
            });
        });
        assertThat(undocumented).isEmpty();
    }

    @Test
    void everyDocumentedFieldIsAnsweredSomewhere() {
        Map<String, Map<String, Recorder.Call>> observed = observedFields();
        assertThat(observed).containsKeys(JobSchemas.JOB_VIEW, JobSchemas.JOB_ACCEPTED, JobSchemas.MODELS,
                JobSchemas.PROBLEM);
        List<String> neverSeen = new ArrayList<>();
        observed.forEach((component, seen) -> {
            Set<String> documented = doc.fieldPaths(doc.schema(component));
            documented.removeAll(seen.keySet());
            documented.removeAll(PENDING_FIELDS.getOrDefault(component, Set.of()));
            documented.forEach(field -> neverSeen.add(component + "." + field));
        });
        assertThat(neverSeen).as("documented fields no answer of this test had").isEmpty();
    }

    /**
     * The field paths of every JSON body answered with a documented status, by the schema component the
     * description gives for it; job views inside event streams count as job views.
     */
    private Map<String, Map<String, Recorder.Call>> observedFields() {
        Map<String, Map<String, Recorder.Call>> fields = new TreeMap<>();
        for (Recorder.Call c : documentedCalls()) {
            String type = c.response().contentType().split(";")[0].strip();
            List<JsonNode> bodies = new ArrayList<>();
            String component;
            if (type.equals("text/event-stream")) {
                component = JobSchemas.JOB_VIEW;
                for (String frame : c.response().text().split("\n\n")) {
                    if (frame.lines().anyMatch(l -> l.equals("event:status") || l.equals("event: status"))) {
                        frame.lines().filter(l -> l.startsWith("data:"))
                                .forEach(l -> bodies.add(JSON.readTree(l.substring(5).strip())));
                    }
                }
            } else if (type.endsWith("json")) {
                component = doc.component(c.operation(), c.status(), type);
                bodies.add(c.response().json());
            } else {
                continue;
            }
            if (component == null) {
                continue;
            }
            if (component.equals(JobSchemas.JOB_LIST)) {
                for (JsonNode view : bodies.get(0).path("jobs")) {
                    Description.fieldPaths(view, "", new TreeSet<>()).forEach(f ->
                            fields.computeIfAbsent(JobSchemas.JOB_VIEW, k -> new TreeMap<>()).putIfAbsent(f, c));
                }
            }
            for (JsonNode body : bodies) {
                Description.fieldPaths(body, "", new TreeSet<>()).forEach(f ->
                        fields.computeIfAbsent(component, k -> new TreeMap<>()).putIfAbsent(f, c));
            }
        }
        return fields;
    }

    // --- (c): the request schema is the parser's -------------------------------------------------------------

    @Test
    void theRequestSchemaNamesTheFieldsTheParserTakes() {
        Set<String> documented = doc.schema(JobSchemas.JOB_REQUEST).get("properties").propertyNames().stream()
                .collect(java.util.stream.Collectors.toCollection(TreeSet::new));
        assertThat(documented).as("fields the parser takes").containsAll(parserFields);
        Set<String> notTaken = new TreeSet<>(documented);
        parserFields.forEach(notTaken::remove);
        notTaken.removeAll(PENDING_FIELDS.get(JobSchemas.JOB_REQUEST));
        assertThat(notTaken).as("documented fields the parser refuses as unknown").isEmpty();
        assertThat(doc.schema(JobSchemas.JOB_REQUEST).get("required").valueStream().map(JsonNode::asString))
                .containsExactly("prompt");
        assertThat(doc.schema(JobSchemas.JOB_REQUEST).get("additionalProperties").asBoolean(true)).isFalse();
    }

    @Test
    void everyDocumentedBoundIsAcceptedAndOneStepPastItRefusedNamingTheField() {
        assertThat(probes).hasSizeGreaterThan(40);
        List<String> wrong = new ArrayList<>();
        for (Probe p : probes) {
            Api.Response r = p.response();
            if (p.expectAccepted()) {
                // Accepted by the parser: stored, or (only for a deadline, which admission checks next) refused
                // because the queue could not start it in time.
                boolean admittedLater = r.status() == 429 && r.json().get("type").asString().endsWith("/queue-full");
                if (r.status() != 202 && !admittedLater) {
                    wrong.add(p.body().substring(0, Math.min(120, p.body().length())) + " -> " + r.status() + " "
                            + r.text());
                }
            } else if (r.status() != 400 || !hasError(r.json(), p.field())) {
                wrong.add(p.body().substring(0, Math.min(120, p.body().length())) + " -> " + r.status()
                        + ", expected 400 naming " + p.field() + ": " + r.text());
            }
        }
        assertThat(wrong).isEmpty();
    }

    @Test
    void theSizeBoundsAreThoseOfTheModelsAndTheModelsAreListed() {
        JsonNode properties = doc.schema(JobSchemas.JOB_REQUEST).get("properties");
        int min = Integer.MAX_VALUE;
        int max = 0;
        List<String> names = new ArrayList<>();
        for (JsonNode card : modelsSeen.get("models")) {
            min = Math.min(min, card.get("minSize").asInt());
            max = Math.max(max, card.get("maxSize").asInt());
            names.add(card.get("name").asString());
        }
        assertThat(names).contains("square", "tiny", "simulated");
        for (String field : List.of("width", "height")) {
            assertThat(properties.get(field).get("minimum").asInt()).as(field).isEqualTo(min);
            assertThat(properties.get(field).get("maximum").asInt()).as(field).isEqualTo(max);
        }
        assertThat(properties.get("model").get("description").asString()).contains(names.toString());
        assertThat(properties.get("model").get("default").asString())
                .isEqualTo(modelsSeen.get("defaultModel").asString());
        assertThat(properties.get("width").get("description").asString())
                .contains("model square draws square images whose side is a multiple of 32 pixels, from 32 to 512");
    }

    private static boolean hasError(JsonNode problem, String field) {
        for (JsonNode e : problem.path("errors")) {
            if (e.get("field").asString().equals(field)) {
                return true;
            }
        }
        return false;
    }

    // --- helpers --------------------------------------------------------------------------------------------

    /**
     * Answers whose operation and status the description documents (the others fail {@link #assertOperation}),
     * but for the {@link #PENDING_OPERATIONS}.
     */
    private List<Recorder.Call> documentedCalls() {
        return recorder.calls().stream()
                .filter(c -> !PENDING_OPERATIONS.contains(c.operation()))
                .filter(c -> doc.operations().contains(c.operation()) && doc.statuses(c.operation()).contains(c.status()))
                .toList();
    }

    private List<Recorder.Call> calls(String operation) {
        return recorder.calls().stream().filter(c -> c.operation().equals(operation)).toList();
    }

    private List<Recorder.Call> calls(String operation, int status) {
        return calls(operation).stream().filter(c -> c.status() == status).toList();
    }

    private static void awaitState(Api api, String id, String state) {
        await().atMost(Duration.ofSeconds(20)).until(() -> api.get("/v1/jobs/" + id).json().get("state").asString()
                .equals(state));
    }

    private static String quoted(String s) {
        return JSON.writeValueAsString(s);
    }

    private static byte[] png() {
        BufferedImage image = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, 0xff0000);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void close(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                // Closing what the test started: nothing more to do.
            }
        }
    }
}
