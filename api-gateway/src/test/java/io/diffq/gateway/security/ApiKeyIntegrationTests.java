package io.diffq.gateway.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.Progress;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * API keys and rate limits against a running gateway: alice's key is configured by its SHA-256 digest, bob's
 * as the key itself, carol's by an upper-case digest. Each rate-limit bucket holds 10 requests, refilled at 2 a
 * second.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        Gateway.SERVED_MODELS,
        "management.server.port=0",
        "diffq.topics.partitions=3",
        "diffq.gateway.job-id-secret=a-test-secret-of-at-least-32-characters",
        "diffq.gateway.security.api-keys[0].name=alice",
        "diffq.gateway.security.api-keys[0].key-sha256=" + ApiKeyIntegrationTests.ALICE_SHA256,
        "diffq.gateway.security.api-keys[1].name=bob",
        "diffq.gateway.security.api-keys[1].key=" + ApiKeyIntegrationTests.BOB_KEY,
        "diffq.gateway.security.api-keys[2].name=carol",
        "diffq.gateway.security.api-keys[2].key-sha256=" + ApiKeyIntegrationTests.CAROL_SHA256_UPPER,
        "diffq.gateway.security.api-keys[3].name=dave",
        "diffq.gateway.security.api-keys[3].key=" + ApiKeyIntegrationTests.DAVE_KEY,
        "diffq.gateway.security.api-keys[3].max-waiting=2",
        "diffq.gateway.security.api-keys[1].max-priority=high",
        "diffq.gateway.security.rate-limit.requests-per-second=2",
        "diffq.gateway.security.rate-limit.burst=10",
        // These tests send many requests without a valid key; the limit on that has a test of its own.
        "diffq.gateway.security.rate-limit.failed-auth-burst=10000"})
@DirtiesContext
@ExtendWith(OutputCaptureExtension.class)
class ApiKeyIntegrationTests {

    static final String ALICE_KEY = "alice-7Hq2Lp9Vx4Rm8Kz3Wn6Td1";
    static final String ALICE_SHA256 = "1ab59c9290fecfe858a1675030cdccd209fadfad99ce4adc359e9939b8c459a4";
    static final String BOB_KEY = "bob-Zr4Nc8Yt1Kp6Wd3Qs9Lf2Bv";
    static final String CAROL_KEY = "carol-5Gf8Js2Qw7Ye4Ub9Ha3Mc6";
    static final String DAVE_KEY = "dave-9Kd3Lx7Qp2Wm5Rt8Vb1Nz4";
    static final String CAROL_SHA256_UPPER = "993C67C148D1C7C954F1DB4C7CCF462C248409EE47D263D5CD40484995E7C0A4";

    private static final String JOB = "{\"prompt\":\"a locked door\",\"width\":16,\"height\":16,\"steps\":2}";

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
    void theDigestsInTheseTestsAreThoseOfTheKeys() {
        assertThat(HexFormat.of().formatHex(ApiKeys.sha256(ALICE_KEY))).isEqualTo(ALICE_SHA256);
        assertThat(HexFormat.of().formatHex(ApiKeys.sha256(CAROL_KEY))).isEqualToIgnoringCase(CAROL_SHA256_UPPER);
    }

    @Test
    void aGatewayWithApiKeysDoesNotStartWithoutAJobIdSecret() {
        assertThatThrownBy(() -> Gateway.start(kafka.bootstrapServers(),
                "diffq.gateway.security.api-keys[0].name=dave",
                "diffq.gateway.security.api-keys[0].key=" + BOB_KEY).close())
                .hasRootCauseMessage("diffq.gateway.job-id-secret (or job-id-secret-file) must be set when API keys "
                        + "are configured: idempotent job ids are an HMAC under it, so that no client can compute "
                        + "another's, and every gateway instance needs the same one");
    }

    @Test
    void withoutAKeyEveryApiRequestIsA401Problem() {
        Api api = new Api(port);
        List<Api.Response> answers = List.of(
                api.submit(JOB),
                api.get("/v1/jobs/" + UUID.randomUUID()),
                api.get("/v1/jobs/" + UUID.randomUUID() + "/image"),
                api.get("/v1/jobs/not-a-job"),
                api.get("/v1/nothing-here"),
                api.send(request("/v1/jobs").method("DELETE", HttpRequest.BodyPublishers.noBody())),
                api.send(request("/v1/jobs").method("OPTIONS", HttpRequest.BodyPublishers.noBody())));

        for (Api.Response r : answers) {
            assertUnauthorized(r);
        }
    }

    /**
     * The playground page is outside {@code /v1}: a browser loads it without a key, and the page then sends the
     * key its user typed. It loads nothing from elsewhere (its policy allows this origin only).
     */
    @Test
    void thePlaygroundPageIsServedWithoutAKeyWhileTheApiStillWantsOne() {
        Api api = new Api(port);
        Api.Response page = api.get("/");
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("text/html");
        assertThat(page.text()).contains("<title>diffq playground</title>", "src=\"playground.js\"",
                "default-src 'none'", "connect-src 'self'");
        for (String file : List.of("/playground.js", "/playground.css")) {
            Api.Response r = api.get(file);
            assertThat(r.status()).as(file).isEqualTo(200);
            assertThat(r.text()).as(file).doesNotContain("http://", "https://");
        }
        assertThat(api.get("/playground.js").contentType()).contains("javascript");
        assertThat(api.send(request("/").header("Accept", "application/json")).status())
                .as("the page whatever the client accepts").isEqualTo(200);
        Api.Response post = api.send(request("/").header("Accept", "application/xml")
                .POST(HttpRequest.BodyPublishers.ofString("{}")));
        assertThat(post.status()).isEqualTo(405);
        assertThat(post.contentType()).startsWith("application/problem+json");
        assertUnauthorized(api.get("/v1/models"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "Bearer wrong-key-wrong-key-wrong",
            "Bearer " + ALICE_SHA256, // the digest is not the key
            "Bearer " + BOB_KEY + "x",
            "Bearer " + ALICE_KEY + " " + ALICE_KEY,
            "Basic YWxpY2U6c2VjcmV0",
            "Basic " + ALICE_KEY,
            "Bearer",
            "Bearer ",
            "Bearer\t",
            "Bearer:" + ALICE_KEY,
            "Token " + ALICE_KEY,
            ALICE_KEY,
            "",
            "\u00e9\u00e9\u00e9"})
    void aWrongOrMalformedAuthorizationIsA401Problem(String authorization) {
        Api.Response r = new Api(port).send(request("/v1/jobs")
                .header("Content-Type", "application/json")
                .header("Authorization", authorization)
                .POST(HttpRequest.BodyPublishers.ofString(JOB)));

        assertUnauthorized(r);
    }

    @Test
    void twoAuthorizationHeadersAreRefusedEvenWhenOneIsValid() {
        Api.Response r = new Api(port).send(request("/v1/jobs/not-a-job")
                .header("Authorization", "Bearer " + ALICE_KEY)
                .header("Authorization", "Bearer " + BOB_KEY)
                .GET());

        assertUnauthorized(r);
    }

    @Test
    void aValidKeyIsLetThrough() {
        Api api = new Api(port);
        Api.Response submitted = api.send(request("/v1/jobs")
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + ALICE_KEY)
                .POST(HttpRequest.BodyPublishers.ofString(JOB)));
        assertThat(submitted.status()).as(submitted.text()).isEqualTo(202);
        String id = submitted.json().get("id").asString();

        // The scheme in any case, spaces around the token.
        Api.Response polled = api.send(request("/v1/jobs/" + id).header("Authorization", "bearer   " + ALICE_KEY + " "));
        assertThat(polled.status()).as(polled.text()).isEqualTo(200);
        assertThat(polled.json().get("id").asString()).isEqualTo(id);
        // A key configured as itself (not as a digest) is let through too; alice's job is not bob's to see.
        Api.Response other = api.send(request("/v1/jobs/" + id).header("Authorization", "Bearer " + BOB_KEY));
        assertThat(other.status()).as(other.text()).isEqualTo(404);
        assertThat(other.json().get("type").asString()).isEqualTo("https://diffq.io/problems/job-not-found");
        Api.Response image = api.send(request("/v1/jobs/" + id + "/image")
                .header("Authorization", "BEARER " + ALICE_KEY));
        assertThat(image.status()).as(image.text()).isEqualTo(409);

        assertUnauthorized(api.get("/v1/jobs/" + id));
    }

    /**
     * dave's key may have 2 jobs waiting: a third is refused with a {@code quota-exceeded} problem naming the field
     * and a {@code Retry-After}, no job is created, other keys are not held back; once one of dave's jobs has started
     * he may submit again. Only this test uses dave's key.
     */
    @Test
    void aKeyAtItsMaxWaitingIsRefusedUntilOneOfItsJobsStarts() {
        Api api = new Api(port);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Api.Response r = api.send(submitAs(DAVE_KEY));
            assertThat(r.status()).as(r.text()).isEqualTo(202);
            ids.add(r.json().get("id").asString());
        }

        Api.Response refused = api.send(submitAs(DAVE_KEY));
        assertThat(refused.status()).as(refused.text()).isEqualTo(429);
        assertThat(refused.contentType()).startsWith("application/problem+json");
        assertThat(refused.json().get("type").asString()).isEqualTo("https://diffq.io/problems/quota-exceeded");
        assertThat(refused.json().get("field").asString()).isEqualTo("max-waiting");
        assertThat(refused.json().get("detail").asString()).contains("'dave' has 2 jobs waiting (max-waiting 2)");
        assertThat(Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow())).isPositive();
        Api.Response alices = api.send(submitAs(ALICE_KEY));
        assertThat(alices.status()).as("another key").isEqualTo(202);
        JsonNode you = api.send(request("/v1/queue").header("Authorization", "Bearer " + DAVE_KEY)).json().get("you");
        assertThat(you.get("key").asString()).isEqualTo("dave");
        assertThat(you.get("waiting").asLong()).isEqualTo(2);
        assertThat(you.get("maxWaiting").asInt()).isEqualTo(2);
        assertThat(new Api(managementPort).get("/actuator/prometheus").text())
                .containsPattern("diffq_tenant_waiting\\{[^}]*key=\"dave\"[^}]*\\} 2\\.0");

        try (WorkerStandIn worker = new WorkerStandIn(kafka.bootstrapServers())) {
            Instant started = Instant.now();
            worker.event(JobEvent.running(ids.get(0), 1, started, "stand-in", "simulated", new Progress(0, 2), started));
        }
        // Once the view has read the start (and its count of waiting jobs, at most a second old, holds it).
        // Half a second apart: each try takes one of dave's rate-limit tokens (2 a second).
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).until(() -> {
            Api.Response r = api.send(submitAs(DAVE_KEY));
            assertThat(r.status()).as(r.text()).isIn(202, 429);
            return r.status() == 202;
        });
        Api.Response again = api.send(submitAs(DAVE_KEY));
        assertThat(again.status()).as("2 waiting again: " + again.text()).isEqualTo(429);
        assertThat(again.json().get("type").asString()).isEqualTo("https://diffq.io/problems/quota-exceeded");
    }

    /**
     * Keys may ask for {@code normal} at most unless configured otherwise: alice's {@code high} job is refused with a
     * {@code 403} naming the field and her ceiling, and no job is created; bob's key ({@code max-priority: high})
     * gets its {@code high} job, which shows its priority. {@code GET /v1/queue} tells each key its ceiling.
     */
    @Test
    void aKeyMayAskForNoHigherPriorityThanItsMaxPriority() {
        Api api = new Api(port);
        String high = "{\"prompt\":\"urgent\",\"width\":16,\"height\":16,\"steps\":2,\"priority\":\"high\"}";
        Api.Response refused = api.send(submitAs(ALICE_KEY, high));
        assertThat(refused.status()).as(refused.text()).isEqualTo(403);
        assertThat(refused.contentType()).startsWith("application/problem+json");
        assertThat(refused.json().get("type").asString()).isEqualTo("https://diffq.io/problems/priority-not-allowed");
        assertThat(refused.json().get("field").asString()).isEqualTo("priority");
        assertThat(refused.json().get("maxPriority").asString()).isEqualTo("normal");
        assertThat(refused.json().get("detail").asString()).contains("'alice' may ask for priority normal at most");
        assertThat(api.send(request("/v1/jobs").header("Authorization", "Bearer " + ALICE_KEY)).json().get("jobs"))
                .as("no job was created").noneMatch(j -> j.get("request").get("prompt").asString().equals("urgent"));

        Api.Response low = api.send(submitAs(ALICE_KEY, high.replace("high", "low")));
        assertThat(low.status()).as(low.text()).isEqualTo(202);
        Api.Response accepted = api.send(submitAs(BOB_KEY, high));
        assertThat(accepted.status()).as(accepted.text()).isEqualTo(202);
        JsonNode job = api.send(request("/v1/jobs/" + accepted.json().get("id").asString())
                .header("Authorization", "Bearer " + BOB_KEY)).json();
        assertThat(job.get("request").get("priority").asString()).isEqualTo("high");
        assertThat(api.send(request("/v1/jobs/" + low.json().get("id").asString())
                .header("Authorization", "Bearer " + ALICE_KEY)).json().get("request").get("priority").asString())
                .isEqualTo("low");

        assertThat(api.send(request("/v1/queue").header("Authorization", "Bearer " + ALICE_KEY)).json()
                .get("you").get("maxPriority").asString()).isEqualTo("normal");
        assertThat(api.send(request("/v1/queue").header("Authorization", "Bearer " + BOB_KEY)).json()
                .get("you").get("maxPriority").asString()).isEqualTo("high");
    }

    private HttpRequest.Builder submitAs(String key, String body) {
        return request("/v1/jobs").header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    private HttpRequest.Builder submitAs(String key) {
        return request("/v1/jobs").header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(JOB));
    }

    @Test
    void aBurstOverTheLimitIsRateLimitedPerKey() {
        // Only this test uses carol's key (configured by an upper-case digest).
        Api api = new Api(port);
        List<Api.Response> answers = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            answers.add(api.send(request("/v1/jobs/not-a-job").header("Authorization", "Bearer " + CAROL_KEY)));
        }

        List<Api.Response> limited = answers.stream().filter(r -> r.status() == 429).toList();
        // 10 at once, then 2 a second: over the few hundred milliseconds this takes, most are refused.
        assertThat(limited).hasSizeGreaterThanOrEqualTo(10);
        assertThat(answers).allSatisfy(r -> assertThat(r.status()).isIn(404, 429));
        for (Api.Response r : limited) {
            assertThat(r.contentType()).startsWith("application/problem+json");
            JsonNode p = r.json();
            assertThat(p.get("type").asString()).isEqualTo("https://diffq.io/problems/rate-limited");
            assertThat(p.get("title").asString()).isNotBlank();
            assertThat(p.get("status").asInt()).isEqualTo(429);
            assertThat(Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 60L);
        }
        // Another key has its own bucket.
        Api.Response bob = api.send(request("/v1/jobs/not-a-job").header("Authorization", "Bearer " + BOB_KEY));
        assertThat(bob.status()).as(bob.text()).isEqualTo(404);
        // Refused requests without a valid key are 401s: they neither use nor see anyone's bucket.
        assertUnauthorized(api.get("/v1/jobs/not-a-job"));
    }

    @Test
    void healthAndMetricsAreOnlyOnTheManagementPortWhichNeedsNoKey() {
        Api api = new Api(port);
        Api management = new Api(managementPort);

        assertThat(api.get("/actuator/health").status()).isEqualTo(404);
        assertThat(api.get("/actuator/prometheus").status()).isEqualTo(404);
        assertThat(api.get("/actuator").status()).isEqualTo(404);
        Api.Response health = management.get("/actuator/health");
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.text()).contains("\"UP\"");
        assertThat(management.get("/actuator/prometheus").text()).contains("diffq_jobs_submitted_total");
        // The key filter is not on the management server: its /v1 is just not there.
        assertThat(management.get("/v1/jobs/not-a-job").status()).isEqualTo(404);
        // Refusals are counted like any other answer (the filter runs inside the observation filter).
        assertUnauthorized(api.get("/v1/jobs/not-a-job"));
        assertThat(management.get("/actuator/prometheus").text())
                .containsPattern("http_server_requests_seconds_count\\{[^}]*status=\"401\"");
    }

    @Test
    void withoutKeysTheApiIsOpenSaysSoAndLimitsEachClientAddress(CapturedOutput output) {
        try (Gateway open = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.requests-per-second=0.5",
                "diffq.gateway.security.rate-limit.burst=3")) {
            Api api = open.api();

            assertThat(output.getOut()).containsPattern("WARN .*No API key configured.*OPEN");
            Api.Response submitted = api.submit(JOB);
            assertThat(submitted.status()).as(submitted.text()).isEqualTo(202);
            // 3 at once, then one every 2 s: a few quick requests more run out.
            List<Api.Response> answers = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                answers.add(api.get("/v1/jobs/not-a-job"));
            }
            assertThat(answers).allSatisfy(r -> assertThat(r.status()).isIn(404, 429));
            Api.Response limited = answers.get(answers.size() - 1);
            assertThat(limited.status()).isEqualTo(429);
            assertThat(limited.json().get("type").asString()).isEqualTo("https://diffq.io/problems/rate-limited");
            assertThat(Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 2L);
        }
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    }

    private static void assertUnauthorized(Api.Response r) {
        assertThat(r.status()).as(r.text()).isEqualTo(401);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"diffq\"");
        JsonNode p = r.json();
        assertThat(p.get("type").asString()).isEqualTo("https://diffq.io/problems/unauthorized");
        assertThat(p.get("title").asString()).isEqualTo("Unauthorized");
        assertThat(p.get("status").asInt()).isEqualTo(401);
        assertThat(r.text()).doesNotContain("Exception").doesNotContain(ALICE_KEY).doesNotContain(BOB_KEY);
    }
}
