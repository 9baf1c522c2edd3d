package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.observability.Repo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;
import tools.jackson.databind.JsonNode;

/**
 * The compose stack as a user runs it: {@code infra/compose/diffq-compose up} from the repository (images
 * built when missing, local stand-ins for public images that cannot be pulled), 50 jobs submitted with
 * curl while the workers are scaled 1 → 3 → 1, every one SUCCEEDED; Prometheus scrapes every target and
 * has the lag series; {@code down} leaves no container, network or volume of the project behind. Its own
 * project name, ports and state folder, so a stack a developer runs is not touched.
 */
@ResourceLock("container-engine")
class ComposeStackIntegrationTests {

    private static final String PROJECT = "diffqtest";
    private static final int JOBS = 50;

    private static Map<String, String> env;
    private static int port;
    private static int prometheusPort;
    private static boolean up;

    @BeforeAll
    static void up(@org.junit.jupiter.api.io.TempDir Path state) throws IOException {
        Assumptions.assumeTrue(ContainerEngine.host().isPresent(), ContainerEngine.skipReason());
        Assumptions.assumeTrue(ContainerEngine.canBuildJvmImages(), ContainerEngine.NO_JDK_25);
        Assumptions.assumeTrue(Repo.executable("docker-compose").isPresent(),
                "docker-compose is not installed (Debian: apt-get install docker-compose)");
        port = freePort();
        prometheusPort = freePort();
        Map<String, String> e = new HashMap<>();
        e.put("DIFFQ_COMPOSE_PROJECT", PROJECT);
        e.put("DIFFQ_COMPOSE_HOME", state.toString());
        e.put("DIFFQ_PORT", String.valueOf(port));
        e.put("DIFFQ_MANAGEMENT_PORT", String.valueOf(freePort()));
        e.put("DIFFQ_PROMETHEUS_PORT", String.valueOf(prometheusPort));
        e.put("DIFFQ_ALERTMANAGER_PORT", String.valueOf(freePort()));
        e.put("DIFFQ_GRAFANA_PORT", String.valueOf(freePort()));
        env = ContainerEngine.env(e);
        up = true;
        ContainerEngine.Result r = compose(Duration.ofMinutes(30), "up", "1");
        System.out.println("diffq-compose up:\n" + r.output());
        assertThat(r.exit()).as("diffq-compose up\n%s", r.output()).isZero();
        assertThat(r.output()).contains("gateway healthy", "workers serve simulated,tiny");
        assertThat(Files.readString(state.resolve("job-id-secret")).strip()).hasSize(64);
    }

    @AfterAll
    static void down() {
        if (up) {
            // Whatever the test did, nothing of the project stays on the engine.
            System.out.println("diffq-compose down:\n" + compose(Duration.ofMinutes(5), "down").output());
        }
    }

    @Test
    void jobsSubmittedWithCurlAllSucceedWhileWorkersScaleAndDownLeavesNothing() {
        Http api = new Http(port);
        List<String> ids = new ArrayList<>();
        // The first half on one worker; while it runs, two more workers start.
        submit(ids, 0, JOBS / 2);
        scale(3);
        await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(2))
                .until(() -> healthyWorkers() == 3);
        System.out.printf("compose: 3 workers healthy, %d of %d jobs finished%n", finished(api, ids), ids.size());
        // The second half lands on three workers; two of them are removed while it runs (each hands back
        // what it has not finished within its shutdown grace, and the remaining worker takes it over).
        submit(ids, JOBS / 2, JOBS);
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1))
                .until(() -> running(api, ids.subList(JOBS / 2, JOBS)) >= 2);
        long before = finished(api, ids);
        scale(1);
        assertThat(workerContainers()).hasSize(1);
        System.out.printf("compose: scaled 3 -> 1 with %d of %d jobs finished%n", before, JOBS);
        assertThat(before).as("jobs still to run when two workers left").isLessThan(JOBS);

        await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofSeconds(2))
                .until(() -> finished(api, ids) == JOBS);
        Map<String, Long> states = ids.stream().map(id -> stateOf(api, id))
                .collect(Collectors.groupingBy(s -> s, Collectors.counting()));
        System.out.println("compose: states of the " + JOBS + " jobs: " + states);
        assertThat(states).containsExactly(Map.entry("SUCCEEDED", (long) JOBS));
        assertThat(api.get("/v1/jobs/" + ids.get(JOBS - 1) + "/image").headers().firstValue("Content-Type"))
                .hasValue("image/png");

        // Prometheus: every target it discovers is up (the workers that left are gone from DNS), and it has
        // the queue's lag.
        Http prometheus = new Http(prometheusPort);
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(2)).untilAsserted(() -> {
            JsonNode targets = prometheus.getJson("/api/v1/targets").get("data").get("activeTargets");
            Map<String, String> health = new HashMap<>();
            targets.forEach(t -> health.put(t.get("scrapeUrl").asString(), t.get("health").asString()));
            Set<String> jobs = new java.util.TreeSet<>();
            targets.forEach(t -> jobs.add(t.get("labels").get("job").asString()));
            assertThat(jobs).containsExactly("diffq-gateway", "diffq-worker", "prometheus");
            assertThat(health.values()).as("%s", health).containsOnly("up");
            assertThat(health).hasSize(3);
        });
        JsonNode lag = prometheus.getJson("/api/v1/query?query=diffq_queue_lag_records").get("data").get("result");
        assertThat(lag.size()).as("diffq_queue_lag_records series").isPositive();
        JsonNode rules = prometheus.getJson("/api/v1/rules").get("data").get("groups");
        assertThat(rules.size()).as("rule groups loaded from infra/prometheus/rules").isPositive();

        ContainerEngine.Result down = compose(Duration.ofMinutes(5), "down");
        up = false;
        System.out.println("diffq-compose down:\n" + down.output());
        assertThat(down.exit()).as(down.output()).isZero();
        assertThat(lines(ContainerEngine.docker(Duration.ofSeconds(30), "ps", "-aq",
                "--filter", "label=com.docker.compose.project=" + PROJECT))).isEmpty();
        assertThat(lines(ContainerEngine.docker(Duration.ofSeconds(30), "volume", "ls", "-q",
                "--filter", "label=com.docker.compose.project=" + PROJECT))).isEmpty();
        assertThat(lines(ContainerEngine.docker(Duration.ofSeconds(30), "network", "ls", "-q",
                "--filter", "label=com.docker.compose.project=" + PROJECT))).isEmpty();
    }

    /** Submits jobs from..to-1 with curl, as a user would; a 429 or 503 is retried by curl itself. */
    private static void submit(List<String> ids, int from, int to) {
        for (int i = from; i < to; i++) {
            ContainerEngine.Result r = ContainerEngine.run(Duration.ofSeconds(60), Map.of(), "curl", "-s",
                    "--fail-with-body", "--retry", "5", "-X", "POST", "http://127.0.0.1:" + port + "/v1/jobs",
                    "-H", "Content-Type: application/json",
                    "-d", "{\"prompt\":\"a red circle on a blue background " + i + "\",\"model\":\"tiny\","
                            + "\"width\":128,\"height\":128,\"seed\":" + i + "}");
            assertThat(r.exit()).as("curl submit %d: %s", i, r.output()).isZero();
            ids.add(Http.JSON_MAPPER.readTree(r.output()).get("id").asString());
        }
    }

    /** How many of the jobs are RUNNING now. */
    private static long running(Http api, List<String> ids) {
        return ids.stream().filter(id -> stateOf(api, id).equals("RUNNING")).count();
    }

    private static void scale(int workers) {
        ContainerEngine.Result r = compose(Duration.ofMinutes(3), "scale", String.valueOf(workers));
        System.out.println("diffq-compose scale " + workers + ":\n" + r.output());
        assertThat(r.exit()).as(r.output()).isZero();
    }

    private static final Set<String> done = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** How many of the jobs are in a terminal state; asks only for those not seen finished yet. */
    private static long finished(Http api, List<String> ids) {
        for (String id : ids) {
            if (!done.contains(id)) {
                String state = stateOf(api, id);
                if (!state.equals("QUEUED") && !state.equals("RUNNING")) {
                    done.add(id);
                }
            }
        }
        return done.size();
    }

    /** A job's state, as a polite client asks: after a 429 it waits as long as Retry-After says. */
    private static String stateOf(Http api, String id) {
        for (int attempt = 0; ; attempt++) {
            java.net.http.HttpResponse<byte[]> r = api.get("/v1/jobs/" + id);
            if (r.statusCode() == 200) {
                return Http.json(r).get("state").asString();
            }
            assertThat(r.statusCode()).as("GET /v1/jobs/%s: %s", id, new String(r.body())).isEqualTo(429);
            assertThat(attempt).as("429s in a row for %s", id).isLessThan(20);
            long wait = r.headers().firstValueAsLong("Retry-After").orElse(1);
            try {
                Thread.sleep(Math.min(wait, 5) * 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    private static List<String> workerContainers() {
        return lines(ContainerEngine.docker(Duration.ofSeconds(30), "ps", "-q",
                "--filter", "label=com.docker.compose.project=" + PROJECT,
                "--filter", "label=com.docker.compose.service=worker"));
    }

    private static long healthyWorkers() {
        return workerContainers().stream().filter(id -> ContainerEngine.docker(Duration.ofSeconds(30), "inspect",
                "--format", "{{.State.Health.Status}}", id).output().strip().equals("healthy")).count();
    }

    private static List<String> lines(ContainerEngine.Result r) {
        assertThat(r.exit()).as(r.output()).isZero();
        return r.output().lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    private static ContainerEngine.Result compose(Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of("infra/compose/diffq-compose"));
        command.addAll(List.of(args));
        return ContainerEngine.run(timeout, env, command.toArray(String[]::new));
    }

    private static int freePort() {
        return io.diffq.testing.KafkaBrokerProcess.freePort();
    }
}
