package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.common.job.Priority;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.gateway.status.JobStatusView;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What clients of hosted inference APIs expect, against a real broker and a gateway with API keys: a job is
 * its key's alone, the caller's jobs listed page by page, a queued job's place counting down (in polls and in
 * the stream, which resumes from {@code Last-Event-ID}), {@code GET /v1/queue}, {@code Prefer: wait}, and
 * {@code POST .../cancel}. A {@link WorkerStandIn} plays the workers.
 */
class JobsApiFeaturesIntegrationTests {

    static final String ALICE = "alice-key-0123456789abcdef";
    static final String BOB = "bob-key-0123456789abcdef";
    static final String ROOT = "root-key-0123456789abcdef";
    static final String DAVE = "dave-key-0123456789abcdef";
    static final String ERIN = "erin-key-0123456789abcdef";
    static final String FRANK = "frank-key-0123456789abcdef";
    static final int WAIT_CAP = 16;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    private static Gateway gateway;
    private static WorkerStandIn worker;
    private static Api api;
    private static Api management;
    /** Clients that wait in parallel (the common pool has one thread on two cores). */
    private static final ExecutorService clients = Executors.newCachedThreadPool();
    @BeforeAll
    static void start() throws Exception {
        gateway = Gateway.start(kafka.bootstrapServers(),
                "diffq.gateway.models.served=simulated,tiny,countdown,waiting,listing,owned",
                "diffq.gateway.security.rate-limit.enabled=false",
                "diffq.gateway.job-id-secret=a-test-secret-of-at-least-32-characters",
                "diffq.gateway.security.api-keys[0].name=alice",
                "diffq.gateway.security.api-keys[0].key=" + ALICE,
                "diffq.gateway.security.api-keys[1].name=bob",
                "diffq.gateway.security.api-keys[1].key=" + BOB,
                "diffq.gateway.security.api-keys[2].name=root",
                "diffq.gateway.security.api-keys[2].key=" + ROOT,
                "diffq.gateway.security.api-keys[2].role=admin",
                "diffq.gateway.security.api-keys[3].name=dave",
                "diffq.gateway.security.api-keys[3].key=" + DAVE,
                "diffq.gateway.security.api-keys[4].name=erin",
                "diffq.gateway.security.api-keys[4].key=" + ERIN,
                "diffq.gateway.security.api-keys[5].name=frank",
                "diffq.gateway.security.api-keys[5].key=" + FRANK,
                "diffq.gateway.waits.max=30s",
                "diffq.gateway.waits.max-per-client=" + WAIT_CAP,
                // Few request threads: waiting submits must not hold one each.
                "server.tomcat.threads.max=4",
                "server.tomcat.threads.min-spare=1");
        worker = new WorkerStandIn(kafka.bootstrapServers());
        api = gateway.api();
        management = gateway.managementApi();
    }

    @AfterAll
    static void stop() {
        clients.shutdownNow();
        worker.close();
        gateway.close();
    }

    @Test
    void aJobIsItsKeysAloneAndAnAdminSeesEveryJob() {
        String id = submit(ALICE, "{\"prompt\":\"mine\",\"model\":\"owned\"}").json().get("id").asString();

        assertThat(as(ALICE, "/v1/jobs/" + id).status()).isEqualTo(200);
        // Another key: as if the job did not exist, whatever it asks.
        for (Api.Response r : List.of(as(BOB, "/v1/jobs/" + id), as(BOB, "/v1/jobs/" + id + "/image"),
                as(BOB, "/v1/jobs/" + id + "/events"),
                api.send(request(BOB, "/v1/jobs/" + id).DELETE()),
                api.send(request(BOB, "/v1/jobs/" + id + "/cancel").POST(HttpRequest.BodyPublishers.noBody())))) {
            assertThat(r.status()).as(r.text()).isEqualTo(404);
            assertThat(r.json().get("type").asString()).isEqualTo("https://diffq.io/problems/job-not-found");
        }
        assertThat(ids(as(BOB, "/v1/jobs?limit=100"))).doesNotContain(id);
        assertThat(as(ALICE, "/v1/jobs/" + id).json().get("cancelRequestedAt")).as("bob's cancels did nothing").isNull();

        assertThat(as(ROOT, "/v1/jobs/" + id).status()).isEqualTo(200);
        assertThat(ids(as(ROOT, "/v1/jobs?limit=100"))).contains(id);
        assertThat(ids(as(ALICE, "/v1/jobs?limit=100"))).contains(id);
    }

    @Test
    void theCallersJobsAreListedNewestFirstPageByPage() {
        List<String> submitted = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            submitted.add(submit(DAVE, "{\"prompt\":\"listed " + i + "\",\"model\":\"listing\"}").json().get("id")
                    .asString());
        }
        List<String> newestFirst = new ArrayList<>(submitted);
        Collections.reverse(newestFirst);

        List<String> seen = new ArrayList<>();
        String path = "/v1/jobs?limit=2";
        int pages = 0;
        while (path != null) {
            Api.Response page = as(DAVE, path);
            assertThat(page.status()).as(page.text()).isEqualTo(200);
            List<String> ids = ids(page);
            assertThat(ids.size()).isLessThanOrEqualTo(2);
            seen.addAll(ids);
            pages++;
            JsonNode next = page.json().get("next");
            path = next == null ? null : "/v1/jobs?limit=2&cursor=" + next.asString();
            if (next != null) {
                assertThat(page.json().at("/links/next").asString()).isEqualTo(path);
            }
        }
        assertThat(seen).isEqualTo(newestFirst);
        assertThat(pages).isEqualTo(3);

        // A page begun before new jobs arrive goes on where it was: no job twice, none skipped.
        Api.Response first = as(DAVE, "/v1/jobs?limit=2");
        String newer = submit(DAVE, "{\"prompt\":\"newer\",\"model\":\"listing\"}").json().get("id").asString();
        List<String> rest = ids(as(DAVE, "/v1/jobs?limit=100&cursor=" + first.json().get("next").asString()));
        assertThat(rest).isEqualTo(newestFirst.subList(2, 5));
        assertThat(ids(as(DAVE, "/v1/jobs?limit=1"))).containsExactly(newer);

        finish(submitted.get(1), "listing");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(ids(as(DAVE, "/v1/jobs?state=succeeded"))).containsExactly(submitted.get(1)));
        assertThat(ids(as(DAVE, "/v1/jobs?state=QUEUED,succeeded"))).hasSize(6);

        for (String[] bad : new String[][] {{"limit=0", "limit"}, {"limit=101", "limit"}, {"limit=x", "limit"},
                {"state=DONE", "state"}, {"cursor=not-a-cursor", "cursor"}}) {
            Api.Response r = as(DAVE, "/v1/jobs?" + bad[0]);
            assertThat(r.status()).as(bad[0]).isEqualTo(400);
            assertThat(r.contentType()).startsWith("application/problem+json");
            assertThat(r.json().at("/errors/0/field").asString()).as(bad[0]).isEqualTo(bad[1]);
        }
    }

    @Test
    void theListKeepsTheJobsOfThePrioritiesAskedForPageByPage() {
        List<String> low = new ArrayList<>();
        List<String> normal = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String priority = i % 2 == 0 ? "low" : "normal";
            String id = submit(FRANK, "{\"prompt\":\"p" + i + "\",\"model\":\"listing\",\"priority\":\"" + priority
                    + "\"}").json().get("id").asString();
            (priority.equals("low") ? low : normal).add(0, id);
        }

        assertThat(ids(as(FRANK, "/v1/jobs?priority=low"))).isEqualTo(low);
        assertThat(ids(as(FRANK, "/v1/jobs?priority=normal"))).isEqualTo(normal);
        assertThat(ids(as(FRANK, "/v1/jobs?priority=LOW,normal&state=queued"))).hasSize(5);
        Api.Response none = as(FRANK, "/v1/jobs?priority=high");
        assertThat(ids(none)).isEmpty();
        assertThat(none.json().has("next")).isFalse();
        // Pages of the filtered list, the filter carried in the next link.
        Api.Response first = as(FRANK, "/v1/jobs?priority=low&limit=2");
        assertThat(ids(first)).isEqualTo(low.subList(0, 2));
        String next = first.json().at("/links/next").asString();
        assertThat(next).contains("priority=low");
        Api.Response second = as(FRANK, next);
        assertThat(ids(second)).isEqualTo(low.subList(2, 3));
        assertThat(second.json().has("next")).isFalse();

        Api.Response bad = as(FRANK, "/v1/jobs?priority=urgent");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().at("/errors/0/field").asString()).isEqualTo("priority");

        // A page that looks at no more jobs of the index than its bound stops there and says where: here the two
        // newest (a low one and a normal one) hold one low job, and the listing goes on after the second.
        JobStatusView view = gateway.bean(JobStatusView.class);
        JobStatusView.Filtered bounded = view.page("frank", EnumSet.allOf(JobState.class), null, 3,
                j -> j.request().priority() == Priority.LOW, 2);
        assertThat(bounded.jobs()).extracting(JobStatus::id).containsExactly(low.get(0));
        assertThat(bounded.stoppedAt().id()).isEqualTo(normal.get(0));
        JobStatusView.Filtered rest = view.page("frank", EnumSet.allOf(JobState.class), bounded.stoppedAt(), 3,
                j -> j.request().priority() == Priority.LOW, 100);
        assertThat(rest.jobs()).extracting(JobStatus::id).containsExactlyElementsOf(low.subList(1, 3));
        assertThat(rest.stoppedAt()).isNull();
    }

    @Test
    void aQueuedJobsPlaceCountsDownToZeroInPollsAndInTheStream() throws Exception {
        List<String> jobs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            jobs.add(submit(ERIN, "{\"prompt\":\"queued " + i + "\",\"model\":\"countdown\"}").json().get("id")
                    .asString());
        }
        String last = jobs.get(3);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(position(last)).isEqualTo(3));
        assertThat(position(jobs.get(0))).isZero();
        Events stream = Events.open(api, ERIN, last, null);
        stream.awaitPosition(3);

        for (int k = 0; k < 3; k++) {
            finish(jobs.get(k), "countdown");
            int expected = 2 - k;
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(position(last)).isEqualTo(expected));
            stream.awaitPosition(expected);
        }
        // One job finished in the last minute: the fleet's pace gives the estimates.
        JsonNode queued = as(ERIN, "/v1/jobs/" + last).json();
        Instant start = Instant.parse(queued.at("/queue/estimatedStartAt").asString());
        Instant finish = Instant.parse(queued.at("/queue/estimatedFinishAt").asString());
        assertThat(start).isBefore(Instant.now().plusSeconds(5));
        assertThat(finish).isAfter(start);

        JsonNode queue = modelQueue("countdown");
        assertThat(queue.get("waiting").asLong()).isEqualTo(1);
        assertThat(queue.get("running").asLong()).isZero();
        assertThat(queue.get("workers").asInt()).isEqualTo(1);
        assertThat(queue.get("throughputPerMinute").asDouble()).isEqualTo(3.0);
        assertThat(queue.get("oldestWaitSeconds").asDouble()).isPositive();
        assertThat(Instant.parse(queue.get("oldestQueuedAt").asString()))
                .isEqualTo(Instant.parse(queued.get("createdAt").asString()));

        Instant begun = Instant.now();
        worker.event(JobEvent.running(last, 1, begun, "w-countdown", "countdown", new Progress(1, 4), begun));
        List<JsonNode> statuses = stream.awaitState("RUNNING");
        stream.close();
        assertThat(statuses.stream().filter(s -> s.has("queue")).map(s -> s.at("/queue/position").asLong()).toList())
                .as("each place once, in order").containsExactly(3L, 2L, 1L, 0L);
        assertThat(statuses.get(statuses.size() - 1).has("queue")).as("no place once running").isFalse();
        assertThat(stream.ids()).doesNotContainNull().doesNotHaveDuplicates().hasSize(statuses.size());
        // The counts are a snapshot at most a second old.
        await().atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
            JsonNode now = modelQueue("countdown");
            assertThat(now.get("running").asLong()).isEqualTo(1);
            assertThat(now.get("waiting").asLong()).isZero();
            assertThat(now.get("oldestWaitSeconds").asDouble()).isZero();
        });
    }

    @Test
    void aStreamResumesFromTheLastEventId() throws Exception {
        String id = submit(ERIN, "{\"prompt\":\"resumed\",\"model\":\"owned\"}").json().get("id").asString();
        finish(id, "owned");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(as(ERIN, "/v1/jobs/" + id).json().get("state").asString()).isEqualTo("SUCCEEDED"));

        Events whole = Events.open(api, ERIN, id, null);
        List<JsonNode> all = whole.awaitState("SUCCEEDED");
        whole.awaitEnd();
        String terminal = whole.ids().get(whole.ids().size() - 1);

        // Reconnecting with the id of the last event: nothing is sent again, the stream just ends.
        Events resumed = Events.open(api, ERIN, id, terminal);
        resumed.awaitEnd();
        assertThat(resumed.statuses()).isEmpty();
        // With an older id: the status since.
        Events behind = Events.open(api, ERIN, id, "0.QUEUED.0.0");
        assertThat(behind.awaitState("SUCCEEDED")).hasSize(1);
        behind.awaitEnd();
        assertThat(behind.ids()).containsExactly(terminal);
        assertThat(all).isNotEmpty();
    }

    @Test
    void preferWaitAnswersWithTheFinishedJob() throws Exception {
        // Finished within the wait: 200 and the finished job; the wait asked for is cut to waits.max.
        CompletableFuture<Api.Response> waiting = CompletableFuture.supplyAsync(() ->
                api.send(request(ALICE, "/v1/jobs").header("Content-Type", "application/json")
                        .header("Prefer", "respond-async, wait=100")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"waited\",\"model\":\"waiting\"}"))),
                clients);
        String id = awaitQueuedJob("waited");
        assertThat(waiting).isNotDone();
        finish(id, "waiting");
        Api.Response done = waiting.get(20, TimeUnit.SECONDS);
        assertThat(done.status()).as(done.text()).isEqualTo(200);
        assertThat(done.headers().firstValue("Preference-Applied")).hasValue("wait=30");
        assertThat(done.headers().firstValue("Location")).hasValue("/v1/jobs/" + id);
        assertThat(done.json().get("state").asString()).isEqualTo("SUCCEEDED");
        assertThat(done.json().at("/links/image").asString()).isEqualTo("/v1/jobs/" + id + "/image");

        // Not finished in time: 202 as without the preference, after the wait.
        long before = System.nanoTime();
        Api.Response late = api.send(request(ALICE, "/v1/jobs").header("Content-Type", "application/json")
                .header("Prefer", "wait=1")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"too slow\",\"model\":\"waiting\"}")));
        assertThat(System.nanoTime() - before).isGreaterThanOrEqualTo(Duration.ofMillis(950).toNanos());
        assertThat(late.status()).isEqualTo(202);
        assertThat(late.headers().firstValue("Preference-Applied")).hasValue("wait=1");
        assertThat(late.json().get("state").asString()).isEqualTo("QUEUED");
        assertThat(late.headers().firstValue("Location")).hasValue("/v1/jobs/" + late.json().get("id").asString());

        // Preferences it does not know are ignored.
        Api.Response other = api.send(request(ALICE, "/v1/jobs").header("Content-Type", "application/json")
                .header("Prefer", "return=minimal")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"no wait\",\"model\":\"waiting\"}")));
        assertThat(other.status()).isEqualTo(202);
        assertThat(other.headers().firstValue("Preference-Applied")).isEmpty();
    }

    @Test
    void waitingSubmitsHoldNoThreadAndAreCappedPerClient() throws Exception {
        // Four request threads in all; the cap's worth of submits wait at once, and the API still answers.
        List<CompletableFuture<Api.Response>> waits = new ArrayList<>();
        for (int i = 0; i < WAIT_CAP; i++) {
            String body = "{\"prompt\":\"parked " + i + "\",\"model\":\"waiting\"}";
            waits.add(CompletableFuture.supplyAsync(() -> api.send(request(BOB, "/v1/jobs")
                    .header("Content-Type", "application/json").header("Prefer", "wait=30")
                    .POST(HttpRequest.BodyPublishers.ofString(body))), clients));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> metric("diffq_gateway_waits_open") == WAIT_CAP);
        long before = System.nanoTime();
        assertThat(as(BOB, "/v1/queue").status()).isEqualTo(200);
        // Were a thread held per wait, this would queue behind them until their 30 s ran out.
        assertThat(System.nanoTime() - before).isLessThan(Duration.ofSeconds(10).toNanos());
        // One more of the same client is answered at once, without waiting.
        Api.Response over = api.send(request(BOB, "/v1/jobs").header("Content-Type", "application/json")
                .header("Prefer", "wait=30")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"over the cap\",\"model\":\"waiting\"}")));
        assertThat(over.status()).isEqualTo(202);
        assertThat(over.headers().firstValue("Preference-Applied")).isEmpty();

        List<String> parked = ids(as(BOB, "/v1/jobs?limit=100&state=queued")).stream()
                .filter(id -> !id.equals(over.json().get("id").asString())).toList();
        assertThat(parked).hasSize(WAIT_CAP);
        parked.forEach(id -> finish(id, "waiting"));
        for (CompletableFuture<Api.Response> w : waits) {
            Api.Response r = w.get(20, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.json().get("state").asString()).isEqualTo("SUCCEEDED");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> metric("diffq_gateway_waits_open") == 0);
    }

    @Test
    void postCancelIsDelete() {
        String id = submit(ALICE, "{\"prompt\":\"canceled by post\",\"model\":\"owned\"}").json().get("id").asString();
        Api.Response canceled = api.send(request(ALICE, "/v1/jobs/" + id + "/cancel")
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(canceled.status()).as(canceled.text()).isEqualTo(202);
        assertThat(canceled.json().get("cancelRequestedAt").isString()).isTrue();
        worker.event(JobEvent.canceled(id, 0, null, "w-owned", "owned", Instant.now()));
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(as(ALICE, "/v1/jobs/" + id).json().get("state").asString()).isEqualTo("CANCELED"));
        Api.Response again = api.send(request(ALICE, "/v1/jobs/" + id + "/cancel")
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(again.status()).isEqualTo(409);
        assertThat(api.send(request(ALICE, "/v1/jobs/" + id).DELETE()).status()).isEqualTo(409);
    }

    // --- helpers

    private static HttpRequest.Builder request(String key, String path) {
        return HttpRequest.newBuilder(URI.create(api.base() + path)).header("Authorization", "Bearer " + key);
    }

    private static Api.Response as(String key, String path) {
        return api.send(request(key, path).GET());
    }

    private static Api.Response submit(String key, String body) {
        Api.Response r = api.send(request(key, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        return r;
    }

    private static List<String> ids(Api.Response list) {
        assertThat(list.status()).as(list.text()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        list.json().get("jobs").forEach(j -> ids.add(j.get("id").asString()));
        return ids;
    }

    private static long position(String id) {
        JsonNode job = as(ERIN, "/v1/jobs/" + id).json();
        return job.has("queue") ? job.at("/queue/position").asLong() : -1;
    }

    private static JsonNode modelQueue(String model) {
        for (JsonNode m : as(ERIN, "/v1/queue").json().get("models")) {
            if (m.get("model").asString().equals(model)) {
                return m;
            }
        }
        throw new AssertionError("no model " + model + " in /v1/queue");
    }

    /** The id of alice's one queued job with this prompt, once it is stored. */
    private static String awaitQueuedJob(String prompt) {
        String[] found = new String[1];
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            for (JsonNode j : as(ALICE, "/v1/jobs?state=queued&limit=100").json().get("jobs")) {
                if (j.at("/request/prompt").asString().equals(prompt)) {
                    found[0] = j.get("id").asString();
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    /** A worker of {@code model} runs the job for a moment and succeeds. */
    private static void finish(String id, String model) {
        Instant start = Instant.now().minusMillis(200);
        worker.event(JobEvent.running(id, 1, start, "w-" + model, model, new Progress(0, 4), start));
        worker.event(JobEvent.succeeded(id, 1, start, "w-" + model, model, new Progress(4, 4), 200,
                new ResultRef(0, 0, "image/png", 1), Instant.now()));
    }

    private static double metric(String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "\\{[^}]*} ([0-9.eE+-]+)$")
                .matcher(management.get("/actuator/prometheus").text());
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    /** A job's event stream read in the background: its status events and their ids. */
    private static final class Events implements AutoCloseable {

        private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        private final CompletableFuture<Void> ended;
        private final JsonMapper json = JsonMapper.builder().build();

        private Events(CompletableFuture<Void> ended) {
            this.ended = ended;
        }

        static Events open(Api api, String key, String id, String lastEventId) throws Exception {
            HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs/" + id + "/events"))
                    .header("Authorization", "Bearer " + key).header("Accept", "text/event-stream");
            if (lastEventId != null) {
                r.header("Last-Event-ID", lastEventId);
            }
            HttpResponse<Stream<String>> response = HttpClient.newHttpClient()
                    .sendAsync(r.build(), HttpResponse.BodyHandlers.ofLines()).get(10, TimeUnit.SECONDS);
            assertThat(response.statusCode()).isEqualTo(200);
            Events events = new Events(new CompletableFuture<>());
            Thread reader = new Thread(() -> {
                try (Stream<String> body = response.body()) {
                    body.forEach(events.lines::add);
                } catch (RuntimeException closed) {
                    // the test closed it
                }
                events.ended.complete(null);
            }, "sse-reader");
            reader.setDaemon(true);
            reader.start();
            return events;
        }

        /** The status events so far, in order. */
        List<JsonNode> statuses() {
            List<JsonNode> statuses = new ArrayList<>();
            synchronized (lines) {
                for (int i = 0; i + 2 < lines.size(); i++) {
                    if (lines.get(i).equals("event: status")) {
                        statuses.add(json.readTree(lines.get(i + 2).substring("data: ".length())));
                    }
                }
            }
            return statuses;
        }

        /** The ids of the status events so far, in order. */
        List<String> ids() {
            List<String> ids = new ArrayList<>();
            synchronized (lines) {
                for (int i = 0; i + 1 < lines.size(); i++) {
                    if (lines.get(i).equals("event: status")) {
                        String line = lines.get(i + 1);
                        ids.add(line.startsWith("id: ") ? line.substring(4) : null);
                    }
                }
            }
            return ids;
        }

        void awaitPosition(long position) {
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                List<JsonNode> s = statuses();
                return !s.isEmpty() && s.get(s.size() - 1).at("/queue/position").asLong(-1) == position;
            });
        }

        List<JsonNode> awaitState(String state) {
            await().atMost(Duration.ofSeconds(10)).until(() -> statuses().stream()
                    .anyMatch(s -> s.get("state").asString().equals(state)));
            return statuses();
        }

        void awaitEnd() throws Exception {
            ended.get(10, TimeUnit.SECONDS);
        }

        @Override
        public void close() {
            ended.cancel(true);
        }
    }
}
