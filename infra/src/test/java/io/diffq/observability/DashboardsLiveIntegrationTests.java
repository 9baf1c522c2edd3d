package io.diffq.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.diffq.launcher.PrometheusTargets;
import io.diffq.observability.Dashboards.Dashboard;
import io.diffq.observability.Dashboards.Query;
import io.diffq.system.ServiceProcess;
import io.diffq.testing.KafkaBrokerProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every dashboard query and every rule, evaluated by a real Prometheus that scrapes the real services:
 * a standalone broker, the gateway jar and a worker jar (simulated model, some jobs made to fail).
 * Each query must parse, and each panel and variable query must return data.
 */
class DashboardsLiveIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Path FAKE_NVML = Repo.ROOT.resolve("gpu-worker/src/test/c/fake_nvml.c");

    /** What Grafana would put in place of each variable ($datasource never appears in a query). */
    private static final Map<String, String> VARIABLES = Map.of(
            "__rate_interval", "1m", "__interval", "15s", "__range", "5m", "instance", ".*", "gpu", ".*");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{(\\w+)}|\\$(\\w+)");
    private static final Pattern LABEL_VALUES = Pattern.compile("^label_values\\((.+),\\s*(\\w+)\\)$");

    private static final int JOBS = 24;
    private static final int FAILING_JOBS = 3;
    private static final List<String> INVALID_REQUESTS = List.of(
            "{\"prompt\":\"steps out of range\",\"steps\":0}",
            "{\"prompt\":\"width not a multiple of 8\",\"width\":7}",
            "{\"prompt\":\"   \"}");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void everyPanelQueryReturnsDataAndEveryRuleEvaluates(@TempDir Path dir) throws Exception {
        Path prometheusBinary = Repo.executable("prometheus").orElse(null);
        assumeTrue(prometheusBinary != null, "prometheus not installed: apt-get install prometheus");
        Optional<Path> nvml = fakeNvml(dir);

        List<String> workerArgs = new ArrayList<>(List.of("--diffq.worker.simulated.latency=200ms", "--diffq.worker.simulated.fail-pattern=explode"));
        nvml.ifPresent(lib -> workerArgs.add("--diffq.worker.nvml.library-path=" + lib));
        int apiPort = KafkaBrokerProcess.freePort();
        int gatewayManagementPort = KafkaBrokerProcess.freePort();
        int workerPort = KafkaBrokerProcess.freePort();
        int prometheusPort = KafkaBrokerProcess.freePort();

        try (KafkaBrokerProcess broker = KafkaBrokerProcess.start(dir.resolve("kafka"));
                ServiceProcess gateway = ServiceProcess.gateway(dir, "gateway", broker.bootstrapServers(), apiPort,
                        gatewayManagementPort);
                ServiceProcess worker = ServiceProcess.worker(dir, "worker", broker.bootstrapServers(), workerPort,
                        workerArgs.toArray(String[]::new));
                PrometheusProcess prometheus = PrometheusProcess.start(prometheusBinary,
                        prometheusConfig(dir.resolve("prometheus-config"), gatewayManagementPort, apiPort, workerPort,
                                prometheusPort),
                        dir.resolve("prometheus"), prometheusPort)) {

            try {
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(targetsNotUp(prometheus))
                        .as("targets not up").isEmpty());

                runJobs(apiPort);
                // rate() needs two samples in its window: let Prometheus scrape the finished state a few times.
                double finished = System.currentTimeMillis() / 1000.0;
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                        assertThat(values(prometheus, "min(timestamp(up))"))
                                .singleElement(InstanceOfAssertFactories.DOUBLE).isGreaterThan(finished + 3));
                System.out.println("diffq metrics Prometheus has: " + diffqMetricNames(prometheus));

                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(3)).untilAsserted(() ->
                        assertThat(problems(prometheus, nvml.isPresent())).isEmpty());
            } catch (AssertionError | RuntimeException e) {
                System.out.println("gateway log:\n" + gateway.tail() + "\nworker log:\n" + worker.tail()
                        + "\nprometheus log:\n" + prometheus.tail());
                throw e;
            }
        }
    }

    /** Every query that does not parse, panel or variable query that returns nothing, or rule that is unhealthy. */
    private static List<String> problems(PrometheusProcess prometheus, boolean gpuMetricsExpected) {
        List<String> problems = new ArrayList<>();
        for (Dashboard d : Dashboards.all()) {
            for (Query q : d.queries()) {
                check(prometheus, q.toString(), substitute(q.expr()), needsData(q.expr(), gpuMetricsExpected), problems);
            }
            for (JsonNode v : d.variables()) {
                if (!"query".equals(v.path("type").asString())) {
                    continue;
                }
                String query = DashboardsTests.queryOf(v);
                Matcher m = LABEL_VALUES.matcher(query);
                String where = d.name() + " / $" + v.path("name").asString() + ": " + query;
                if (!m.matches()) {
                    problems.add(where + " -- not label_values(selector, label), which this test understands");
                    continue;
                }
                // label_values(selector, label) lists the label's values over the selector's series.
                String promql = "group by (" + m.group(2) + ") (" + substitute(m.group(1)) + ")";
                check(prometheus, where, promql, needsData(query, gpuMetricsExpected), problems);
            }
        }
        checkRules(prometheus, problems);
        return problems;
    }

    private static void check(PrometheusProcess prometheus, String where, String promql, boolean needsData,
            List<String> problems) {
        JsonNode r = prometheus.query(promql);
        if (!"success".equals(r.path("status").asString())) {
            problems.add(where + " -- does not evaluate: " + r.path("error").asString());
        } else if (needsData && r.path("data").path("result").isEmpty()) {
            problems.add(where + " -- returns no data");
        }
    }

    /** Every rule of every file in infra/prometheus/rules is loaded, healthy, and its query evaluates. */
    private static void checkRules(PrometheusProcess prometheus, List<String> problems) {
        Set<String> loadedFiles = new TreeSet<>();
        for (JsonNode group : prometheus.get("/api/v1/rules").path("data").path("groups")) {
            loadedFiles.add(Path.of(group.path("file").asString()).getFileName().toString());
            for (JsonNode rule : group.path("rules")) {
                String where = "rule " + rule.path("name").asString() + ": " + rule.path("query").asString();
                if (!"ok".equals(rule.path("health").asString())) {
                    problems.add(where + " -- health " + rule.path("health").asString() + " "
                            + rule.path("lastError").asString(""));
                }
                check(prometheus, where, rule.path("query").asString(), false, problems);
            }
        }
        try (Stream<Path> files = Files.list(Repo.PROMETHEUS.resolve("rules"))) {
            files.map(f -> f.getFileName().toString()).filter(f -> f.endsWith(".yml"))
                    .filter(f -> !loadedFiles.contains(f))
                    .forEach(f -> problems.add("rules/" + f + " -- not loaded by Prometheus"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether a query must return data: GPU queries only where the NVML stand-in could be built. */
    private static boolean needsData(String query, boolean gpuMetricsExpected) {
        return gpuMetricsExpected || !query.contains("diffq_gpu_");
    }

    static String substitute(String expr) {
        Matcher m = VARIABLE.matcher(expr);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1) != null ? m.group(1) : m.group(2);
            String value = VARIABLES.get(name);
            if (value == null) {
                throw new IllegalArgumentException("no value for $" + name + " in " + expr);
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        return m.appendTail(out).toString();
    }

    /**
     * The shipped prometheus.yml with its rules, as the local runner renders it ({@link PrometheusTargets}): the
     * literal local targets point at the started processes; scrapes and rule evaluations every second.
     */
    private static Path prometheusConfig(Path dir, int gatewayManagementPort, int apiPort, int workerPort,
            int prometheusPort) throws IOException {
        Files.createDirectories(dir.resolve("rules"));
        try (Stream<Path> rules = Files.list(Repo.PROMETHEUS.resolve("rules"))) {
            for (Path rule : rules.toList()) {
                Files.copy(rule, dir.resolve("rules").resolve(rule.getFileName()));
            }
        }
        String config = Files.readString(Repo.PROMETHEUS.resolve("prometheus.yml"));
        for (String target : List.of("localhost:8081", "localhost:8091", "localhost:9090")) {
            assertThat(config).as("prometheus.yml targets").contains(target);
        }
        config = PrometheusTargets.render(config, gatewayManagementPort, apiPort, List.of(workerPort), prometheusPort)
                .replaceAll("(?m)^(\\s*)(scrape_interval|scrape_timeout|evaluation_interval):.*$", "$1$2: 1s");
        Path file = dir.resolve("prometheus.yml");
        Files.writeString(file, config);
        return file;
    }

    /** Builds the NVML stand-in, with which the worker reports two fake GPUs; empty where gcc is missing. */
    private static Optional<Path> fakeNvml(Path dir) throws IOException, InterruptedException {
        assertThat(FAKE_NVML).as("the NVML stand-in's source").isRegularFile();
        Path gcc = Repo.executable("gcc").orElse(null);
        if (gcc == null) {
            System.out.println("NOTE: gcc not installed, the fake NVML cannot be built: GPU panels are checked "
                    + "to evaluate, but not for data");
            return Optional.empty();
        }
        Path lib = Files.createDirectories(dir.resolve("nvml"));
        Path log = dir.resolve("gcc.log");
        Process p = new ProcessBuilder(gcc.toString(), "-shared", "-fPIC", "-o",
                lib.resolve("libnvidia-ml.so").toString(), FAKE_NVML.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("gcc finished").isTrue();
        assertThat(p.exitValue()).as("gcc %s:\n%s", FAKE_NVML, Files.readString(log)).isZero();
        return Optional.of(lib);
    }

    /** Accepted, failing and invalid submissions, polls until every job ended, and image downloads. */
    private void runJobs(int apiPort) {
        String api = "http://127.0.0.1:" + apiPort;
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < JOBS + FAILING_JOBS; i++) {
            String prompt = i < JOBS ? "metrics job " + i : "please explode " + i;
            HttpResponse<String> r = submit(api, "{\"prompt\":\"" + prompt
                    + "\",\"width\":64,\"height\":64,\"steps\":5,\"seed\":" + i + "}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            ids.add(JSON.readTree(r.body()).path("id").asString());
        }
        for (String invalid : INVALID_REQUESTS) {
            assertThat(submit(api, invalid).statusCode()).as(invalid).isEqualTo(400);
        }
        // One request per job and poll at most: the gateway rate-limits each client (429).
        List<String> pending = new ArrayList<>(ids);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            while (!pending.isEmpty()) {
                HttpResponse<String> r = get(api + "/v1/jobs/" + pending.get(0));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(JSON.readTree(r.body()).path("state").asString()).as(pending.get(0))
                        .isIn("SUCCEEDED", "FAILED");
                pending.remove(0);
            }
        });
        assertThat(get(api + "/v1/jobs/" + ids.get(0) + "/image").statusCode()).isEqualTo(200);
        assertThat(get(api + "/v1/jobs/" + ids.get(ids.size() - 1) + "/image").statusCode()).isEqualTo(409);
    }

    /** POST /v1/jobs, again while the gateway answers 429 (rate limit or backpressure: nothing was stored). */
    private HttpResponse<String> submit(String api, String json) {
        List<HttpResponse<String>> answer = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).pollDelay(Duration.ZERO).pollInterval(Duration.ofSeconds(1))
                .until(() -> {
            answer.add(0, post(api + "/v1/jobs", json));
            return answer.get(0).statusCode() != 429;
        });
        return answer.get(0);
    }

    private static List<Double> values(PrometheusProcess prometheus, String promql) {
        List<Double> values = new ArrayList<>();
        for (JsonNode sample : prometheus.query(promql).path("data").path("result")) {
            values.add(Double.parseDouble(sample.path("value").path(1).asString()));
        }
        return values;
    }

    /** Every scrape target that is not up, with Prometheus' reason; all three must be there. */
    private static List<String> targetsNotUp(PrometheusProcess prometheus) {
        List<String> down = new ArrayList<>();
        JsonNode targets = prometheus.get("/api/v1/targets").path("data").path("activeTargets");
        for (JsonNode t : targets) {
            if (!"up".equals(t.path("health").asString())) {
                down.add(t.path("labels").path("job").asString() + " " + t.path("scrapeUrl").asString() + ": "
                        + t.path("health").asString() + " " + t.path("lastError").asString(""));
            }
        }
        if (targets.size() != 3) {
            down.add("expected 3 targets, found " + targets.size());
        }
        return down;
    }

    private static Set<String> diffqMetricNames(PrometheusProcess prometheus) {
        Set<String> names = new TreeSet<>();
        for (JsonNode name : prometheus.get("/api/v1/label/__name__/values").path("data")) {
            if (name.asString().startsWith("diffq_")) {
                names.add(name.asString());
            }
        }
        return names;
    }

    private HttpResponse<String> post(String url, String json) {
        return send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    private HttpResponse<String> get(String url) {
        return send(HttpRequest.newBuilder(URI.create(url)).GET());
    }

    private HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
