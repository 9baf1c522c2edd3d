package io.diffq.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Each worker pool's ScaledObject against the real thing: two gateways dispatching to lanes (one leads and exports
 * each pool's backlog; the other exports none), declaring the manifests' pools tiny and sd, and no worker of
 * either; a real Prometheus scraping both every second; each pool's trigger query and threshold read from its
 * file ({@code infra/k8s/base/worker-scaledobject.yaml}, {@code infra/k8s/overlays/gpu/worker-sd-scaledobject.yaml}),
 * evaluated through Prometheus' HTTP API, and turned into the replica count KEDA and its HPA settle on
 * ({@link KedaScaledObject#replicas}). The drain by a real worker runs on a third pool, {@code simulated}, which the
 * test's gateways also declare, with the same query for that pool.
 *
 * <ol>
 * <li>Nothing waits: each pool's query returns 0, and each pool stays at zero.</li>
 * <li>{@value #TINY} tiny, {@value #SD} sd and {@value #WAITING} simulated jobs wait and none has finished: each
 * pool's backlog is its own jobs × the default service time, one series (the leader's).</li>
 * <li>A real worker of pool simulated ({@value #LATENCY_MS} ms a batch of up to {@value #MAX_BATCH}) drains the
 * simulated jobs: that pool's query is 0 again and it goes back to zero; tiny's and sd's are unchanged.</li>
 * <li>With the worker gone, {@value #MORE} more simulated jobs wait: the leader now counts each at the device time
 * the worker's jobs measured, about {@value #LATENCY_MS} ms / {@value #MAX_BATCH}, not the batch's whole time.</li>
 * </ol>
 */
class KedaScalingIntegrationTests {

    private static final int TINY = 37;
    private static final int SD = 20;
    private static final int WAITING = 37;
    private static final double DEFAULT_SERVICE_SECONDS = 2.0;
    private static final int MORE = 20;
    private static final int LATENCY_MS = 1000;
    private static final int MAX_BATCH = 4;
    private static final String POOL_BACKLOG = "diffq_pool_backlog_seconds{application=\"diffq-gateway\"}";
    private static final String BACKLOG = "diffq_queue_backlog_seconds{application=\"diffq-gateway\"}";
    private static final String UP = "up{job=\"diffq-gateway\"}";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void eachPoolsTriggerScalesItsWorkersToItsBacklogInDeviceSecondsAndToZeroWhenNothingWaits(@TempDir Path dir)
            throws Exception {
        Path prometheusBinary = Repo.executable("prometheus").orElse(null);
        assumeTrue(prometheusBinary != null, "prometheus not installed: apt-get install prometheus");
        KedaScaledObject tiny = KedaScaledObject.read(KedaScaledObject.FILE);
        KedaScaledObject sd = KedaScaledObject.read(KedaScaledObject.SD_FILE);
        assertThat(tiny.pool()).isEqualTo("tiny");
        assertThat(sd.pool()).isEqualTo("sd");
        // The drain runs on pool simulated with tiny's query for that pool (its threshold and bounds).
        String simulatedQuery = tiny.query().replace("pool=\"tiny\"", "pool=\"simulated\"");
        assertThat(simulatedQuery).contains("pool=\"simulated\"");
        int expectedTiny = expected(tiny, TINY);
        int expectedSd = expected(sd, SD);
        int expectedSimulated = expected(tiny, WAITING);

        String[] gatewayArgs = {"--diffq.gateway.backlog.default-service-time=" + (int) DEFAULT_SERVICE_SECONDS + "s",
                "--diffq.queue.monitor-interval=1s",
                "--diffq.gateway.dispatch.enabled=true",
                // The manifests' pools (base/config/gateway.env, overlays/gpu), and the test's simulated pool.
                "--diffq.gateway.dispatch.pools.tiny=tiny",
                "--diffq.gateway.dispatch.pools.sd=sd",
                "--diffq.gateway.dispatch.pools.simulated=simulated",
                // Enough released ahead for the worker's batches of up to MAX_BATCH.
                "--diffq.gateway.dispatch.ahead-per-device=" + (MAX_BATCH - 1),
                // Accepted with no worker of them running, as the manifests' DIFFQ_GATEWAY_MODELS_SERVED.
                "--diffq.gateway.models.served=simulated,tiny,sd"};
        int api1 = KafkaBrokerProcess.freePort();
        int management1 = KafkaBrokerProcess.freePort();
        int api2 = KafkaBrokerProcess.freePort();
        int management2 = KafkaBrokerProcess.freePort();
        int prometheusPort = KafkaBrokerProcess.freePort();
        try (KafkaBrokerProcess broker = KafkaBrokerProcess.start(dir.resolve("kafka"));
                ServiceProcess gateway1 = ServiceProcess.gateway(dir, "gateway-1", broker.bootstrapServers(), api1,
                        management1, gatewayArgs);
                ServiceProcess gateway2 = ServiceProcess.gateway(dir, "gateway-2", broker.bootstrapServers(), api2,
                        management2, gatewayArgs);
                PrometheusProcess prometheus = PrometheusProcess.start(prometheusBinary,
                        prometheusConfig(dir, management1, management2), dir.resolve("prometheus"), prometheusPort)) {
            ServiceProcess worker = null;
            try {
                await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
                    assertThat(values(prometheus, BACKLOG)).as("both gateways' backlog").hasSize(2);
                    assertThat(values(prometheus, "count by (pool) (" + POOL_BACKLOG + ")"))
                            .as("each pool's backlog, from the leading gateway only").containsExactly(1.0, 1.0, 1.0);
                });

                // 1. Nothing waits.
                for (KedaScaledObject so : List.of(tiny, sd)) {
                    double idle = value(prometheus, so.query());
                    System.out.printf("KEDA query %s with nothing waiting: %s -> %d replicas%n", so.query(), idle,
                            so.replicas(idle, 0));
                    assertThat(idle).as(so.query()).isZero();
                    assertThat(so.replicas(idle, 0)).isZero();
                }

                // 2. Jobs wait, no worker exists, none has finished: the default service time, per pool.
                submit(api1, TINY, "tiny", "tiny");
                submit(api2, SD, "sd", "sd");
                submit(api1, WAITING, "simulated", "waiting");
                int queued = TINY + SD + WAITING;
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(values(prometheus,
                        "diffq_jobs_in_state{application=\"diffq-gateway\",state=\"QUEUED\"}"))
                        .containsExactly((double) queued, (double) queued));
                awaitLaterScrape(prometheus, "diffq_jobs_in_state{application=\"diffq-gateway\",state=\"QUEUED\"}");
                Map<KedaScaledObject, Integer> waitingJobs = Map.of(tiny, TINY, sd, SD);
                Map<KedaScaledObject, Integer> expectedReplicas = Map.of(tiny, expectedTiny, sd, expectedSd);
                for (KedaScaledObject so : List.of(tiny, sd)) {
                    double waiting = value(prometheus, so.query());
                    System.out.printf("KEDA query %s with %d of its jobs waiting, no worker: %s -> %d replicas%n",
                            so.query(), waitingJobs.get(so), waiting, so.replicas(waiting, 0));
                    assertThat(waiting).as(so.query()).isEqualTo(waitingJobs.get(so) * DEFAULT_SERVICE_SECONDS);
                    assertThat(so.replicas(waiting, 0)).isEqualTo(expectedReplicas.get(so));
                }
                double simulatedWaiting = value(prometheus, simulatedQuery);
                assertThat(simulatedWaiting).isEqualTo(WAITING * DEFAULT_SERVICE_SECONDS);
                assertThat(tiny.replicas(simulatedWaiting, 0)).isEqualTo(expectedSimulated);

                // 3. A worker of pool simulated drains its jobs in batches.
                int workerPort = KafkaBrokerProcess.freePort();
                worker = ServiceProcess.worker(dir, "worker", broker.bootstrapServers(), workerPort,
                        "--diffq.worker.source=lanes", "--diffq.worker.pool=simulated",
                        "--diffq.worker.simulated.latency=" + LATENCY_MS + "ms",
                        "--diffq.worker.max-batch=" + MAX_BATCH);
                await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> assertThat(
                        values(prometheus, "diffq_jobs_in_state{application=\"diffq-gateway\",state=\"SUCCEEDED\"}"))
                        .containsExactly((double) WAITING, (double) WAITING));
                awaitLaterScrape(prometheus, "diffq_jobs_in_state{application=\"diffq-gateway\",state=\"SUCCEEDED\"}");
                double drained = value(prometheus, simulatedQuery);
                System.out.printf("KEDA query %s once the worker drained them: %s -> %d replicas%n", simulatedQuery,
                        drained, tiny.replicas(drained, 1));
                assertThat(drained).isZero();
                assertThat(tiny.replicas(drained, 1)).isZero();
                for (KedaScaledObject so : List.of(tiny, sd)) {
                    assertThat(value(prometheus, so.query())).as(so.query() + ": another pool's drain leaves it")
                            .isEqualTo(waitingJobs.get(so) * DEFAULT_SERVICE_SECONDS);
                }
                String batches = get("http://127.0.0.1:" + workerPort + "/actuator/prometheus").lines()
                        .filter(l -> l.startsWith("diffq_worker_batch_size_count")).findFirst().orElseThrow();
                int batchCount = (int) Double.parseDouble(batches.substring(batches.lastIndexOf(' ') + 1));
                worker.close();

                // 4. The worker is gone; more wait: each counts the device time measured per job.
                submit(api1, MORE, "simulated", "more");
                int queuedAgain = TINY + SD + MORE;
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(
                        values(prometheus, "diffq_jobs_in_state{application=\"diffq-gateway\",state=\"QUEUED\"}"))
                        .containsExactly((double) queuedAgain, (double) queuedAgain));
                awaitLaterScrape(prometheus, "diffq_jobs_in_state{application=\"diffq-gateway\",state=\"QUEUED\"}");
                List<Double> measured = values(prometheus, BACKLOG);
                double again = value(prometheus, simulatedQuery);
                double perJob = again / MORE;
                double simulated = batchCount * LATENCY_MS / 1000.0 / WAITING;
                System.out.printf("KEDA query with %d more waiting after the worker drew its %d jobs in %d batches of"
                        + " %d ms: %s, query %s -> %d replicas: %.3f s of device time per job measured, %.3f s"
                        + " simulated (untagged backlog per gateway %s)%n", MORE, WAITING, batchCount, LATENCY_MS,
                        again, simulatedQuery, tiny.replicas(again, 0), perJob, simulated, measured);
                assertThat(measured).hasSize(2);
                assertThat(measured.get(0)).as("both gateways measured the same").isCloseTo(measured.get(1),
                        within(1e-6));
                assertThat(measured.get(0)).as("the untagged backlog: every pool's")
                        .isCloseTo(again + (TINY + SD) * DEFAULT_SERVICE_SECONDS, within(1e-6));
                // A batch's time shared by its jobs: the batches' simulated time over the jobs, plus what the worker
                // spends around the model (picture encoding, events); each job's own start-to-end is a whole batch.
                assertThat(batchCount).as("batches of up to %d", MAX_BATCH).isLessThanOrEqualTo(WAITING / 2);
                assertThat(perJob).isBetween(simulated, simulated * 1.25);
                assertThat(tiny.replicas(again, 0)).isEqualTo((int) Math.ceil(again / tiny.threshold()));
            } catch (AssertionError | RuntimeException e) {
                System.out.println("gateway-1 log:\n" + gateway1.tail() + "\ngateway-2 log:\n" + gateway2.tail()
                        + (worker == null ? "" : "\nworker log:\n" + worker.tail())
                        + "\nprometheus log:\n" + prometheus.tail());
                throw e;
            } finally {
                if (worker != null) {
                    worker.close();
                }
            }
        }
    }

    /** The replica count {@code jobs} waiting at the default service time give: one the test can tell apart. */
    private static int expected(KedaScaledObject so, int jobs) {
        int expected = (int) Math.ceil(jobs * DEFAULT_SERVICE_SECONDS / so.threshold());
        assertThat(expected).as("%s: a count the test can tell from 1 and from the bound", so.name())
                .isBetween(2, so.maxReplicaCount() - 1);
        return expected;
    }

    /** Both gateways' management ports, scraped every second. */
    private static Path prometheusConfig(Path dir, int management1, int management2) throws IOException {
        Path file = dir.resolve("prometheus.yml");
        Files.writeString(file, """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: diffq-gateway
                    metrics_path: /actuator/prometheus
                    static_configs:
                      - targets: ["127.0.0.1:%d", "127.0.0.1:%d"]
                """.formatted(management1, management2));
        return file;
    }

    /**
     * Waits until both gateways have been scraped again after the scrape in which {@code counted} (just seen to
     * hold) was taken. One scrape can mix two of the view's snapshots: a snapshot lives a second and may be
     * replaced between the gauges a scrape reads, so the backlog in the very scrape that showed the new counts
     * may still be the old one. Every later scrape reads a snapshot at least as new as the one behind the counts.
     */
    private static void awaitLaterScrape(PrometheusProcess prometheus, String counted) {
        double countedAt = value(prometheus, "max(timestamp(" + counted + "))");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                value(prometheus, "min(timestamp(" + UP + "))")).as("both gateways scraped again")
                .isGreaterThan(countedAt));
    }

    /** The single value of a query that must return one sample, as KEDA's prometheus scaler requires. */
    private static double value(PrometheusProcess prometheus, String promql) {
        List<Double> values = values(prometheus, promql);
        assertThat(values).as("samples of %s", promql).hasSize(1);
        return values.get(0);
    }

    private static List<Double> values(PrometheusProcess prometheus, String promql) {
        JsonNode answer = prometheus.query(promql);
        assertThat(answer.path("status").asString()).as("%s: %s", promql, answer).isEqualTo("success");
        List<Double> values = new ArrayList<>();
        for (JsonNode sample : answer.path("data").path("result")) {
            values.add(number(sample.path("value").path(1).asString()));
        }
        return values;
    }

    /** A sample value as Prometheus writes it ({@code +Inf}, {@code -Inf} and {@code NaN} included). */
    private static double number(String value) {
        return switch (value) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(value);
        };
    }

    private String get(String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void submit(int apiPort, int jobs, String model, String prompt) {
        for (int i = 0; i < jobs; i++) {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/v1/jobs"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"prompt\":\"" + prompt
                            + " " + i + "\",\"width\":64,\"height\":64,\"steps\":4,\"seed\":" + i + "}"))
                    .build();
            try {
                HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
