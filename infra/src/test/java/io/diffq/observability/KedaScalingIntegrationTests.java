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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The workers' ScaledObject against the real thing: two gateways (every replica sees the same topics) and no
 * worker, a real Prometheus scraping them every second, the trigger's query and threshold read from
 * {@code infra/k8s/base/worker-scaledobject.yaml}, evaluated through Prometheus' HTTP API, and turned into the
 * replica count KEDA and its HPA settle on ({@link KedaScaledObject#replicas}).
 *
 * <ol>
 * <li>Nothing waits: the query returns 0, and the fleet stays at zero.</li>
 * <li>{@value #WAITING} jobs wait and none has finished: the backlog is {@value #WAITING} × the default
 * service time, on both gateways, and the query counts it once (max, not sum).</li>
 * <li>A real worker (simulated model, {@value #LATENCY_MS} ms a batch of up to {@value #MAX_BATCH}) drains
 * them: 0 again, and the fleet goes back to zero.</li>
 * <li>With the worker gone, {@value #MORE} more jobs wait: the gateways now count each at the device time the
 * worker's jobs measured, about {@value #LATENCY_MS} ms / {@value #MAX_BATCH}, not the batch's whole time.</li>
 * </ol>
 */
class KedaScalingIntegrationTests {

    private static final int WAITING = 37;
    private static final double DEFAULT_SERVICE_SECONDS = 2.0;
    private static final int MORE = 20;
    private static final int LATENCY_MS = 1000;
    private static final int MAX_BATCH = 4;
    private static final String BACKLOG = "diffq_queue_backlog_seconds{application=\"diffq-gateway\"}";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void theTriggerScalesWorkersToTheBacklogInWorkerSecondsAndToZeroWhenNothingWaits(@TempDir Path dir)
            throws Exception {
        Path prometheusBinary = Repo.executable("prometheus").orElse(null);
        assumeTrue(prometheusBinary != null, "prometheus not installed: apt-get install prometheus");
        KedaScaledObject so = KedaScaledObject.read();
        String query = so.query();
        double threshold = so.threshold();
        int expected = (int) Math.ceil(WAITING * DEFAULT_SERVICE_SECONDS / threshold);
        assertThat(expected).as("a count the test can tell from 1, from the bound, and from a sum over 2 gateways")
                .isBetween(2, so.maxReplicaCount() - 1)
                .isNotEqualTo((int) Math.ceil(2 * WAITING * DEFAULT_SERVICE_SECONDS / threshold));

        String[] gatewayArgs = {"--diffq.gateway.backlog.default-service-time=" + (int) DEFAULT_SERVICE_SECONDS + "s",
                "--diffq.queue.monitor-interval=1s"};
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
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                        assertThat(values(prometheus, BACKLOG)).as("both gateways' backlog").hasSize(2));

                // 1. Nothing waits.
                double idle = value(prometheus, query);
                System.out.printf("KEDA query %s with nothing waiting: %s -> %d replicas%n", query, idle,
                        so.replicas(idle, 0));
                assertThat(idle).isZero();
                assertThat(so.replicas(idle, 0)).isZero();

                // 2. Jobs wait, no worker exists, none has finished: the default service time.
                submit(api1, WAITING, "waiting");
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(values(prometheus, BACKLOG))
                        .containsExactly(WAITING * DEFAULT_SERVICE_SECONDS, WAITING * DEFAULT_SERVICE_SECONDS));
                awaitLaterScrape(prometheus, BACKLOG);
                double waiting = value(prometheus, query);
                double summed = value(prometheus, "sum(" + BACKLOG + ")");
                System.out.printf("KEDA query with %d jobs waiting, no worker: %s -> %d replicas (a sum over the 2"
                        + " gateways would say %s -> %d)%n", WAITING, waiting, so.replicas(waiting, 0), summed,
                        so.replicas(summed, 0));
                assertThat(waiting).isEqualTo(WAITING * DEFAULT_SERVICE_SECONDS);
                assertThat(so.replicas(waiting, 0)).isEqualTo(expected);
                assertThat(values(prometheus, "diffq_queue_drain_seconds{application=\"diffq-gateway\"}"))
                        .as("no worker: never drained").containsExactly(Double.POSITIVE_INFINITY,
                                Double.POSITIVE_INFINITY);

                // 3. A worker drains them in batches.
                int workerPort = KafkaBrokerProcess.freePort();
                worker = ServiceProcess.worker(dir, "worker", broker.bootstrapServers(), workerPort,
                        "--diffq.worker.simulated.latency=" + LATENCY_MS + "ms",
                        "--diffq.worker.max-batch=" + MAX_BATCH);
                await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> assertThat(
                        values(prometheus, "diffq_jobs_in_state{application=\"diffq-gateway\",state=\"SUCCEEDED\"}"))
                        .containsExactly((double) WAITING, (double) WAITING));
                awaitLaterScrape(prometheus, "diffq_jobs_in_state{application=\"diffq-gateway\",state=\"SUCCEEDED\"}");
                double drained = value(prometheus, query);
                System.out.printf("KEDA query once the worker drained them: %s -> %d replicas%n", drained,
                        so.replicas(drained, 1));
                assertThat(drained).isZero();
                assertThat(so.replicas(drained, 1)).isZero();
                String batches = get("http://127.0.0.1:" + workerPort + "/actuator/prometheus").lines()
                        .filter(l -> l.startsWith("diffq_worker_batch_size_count")).findFirst().orElseThrow();
                int batchCount = (int) Double.parseDouble(batches.substring(batches.lastIndexOf(' ') + 1));
                worker.close();

                // 4. The worker is gone; more wait: each counts the device time measured per job.
                submit(api1, MORE, "more");
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(
                        values(prometheus, "diffq_jobs_in_state{application=\"diffq-gateway\",state=\"QUEUED\"}"))
                        .containsExactly((double) MORE, (double) MORE));
                awaitLaterScrape(prometheus, "diffq_jobs_in_state{application=\"diffq-gateway\",state=\"QUEUED\"}");
                List<Double> measured = values(prometheus, BACKLOG);
                double again = value(prometheus, query);
                double perJob = again / MORE;
                double simulated = batchCount * LATENCY_MS / 1000.0 / WAITING;
                System.out.printf("KEDA query with %d more waiting after the worker drew its %d jobs in %d batches of"
                        + " %d ms: %s per gateway, query %s -> %d replicas: %.3f s of device time per job measured,"
                        + " %.3f s simulated%n", MORE, WAITING, batchCount, LATENCY_MS, measured, again,
                        so.replicas(again, 0), perJob, simulated);
                assertThat(measured).hasSize(2);
                assertThat(measured.get(0)).as("both gateways measured the same").isCloseTo(measured.get(1),
                        within(1e-6));
                // A batch's time shared by its jobs: the batches' simulated time over the jobs, plus what the worker
                // spends around the model (picture encoding, events); each job's own start-to-end is a whole batch.
                assertThat(batchCount).as("batches of up to %d", MAX_BATCH).isLessThanOrEqualTo(WAITING / 2);
                assertThat(perJob).isBetween(simulated, simulated * 1.25);
                assertThat(so.replicas(again, 0)).isEqualTo((int) Math.ceil(again / threshold));
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
                value(prometheus, "min(timestamp(" + BACKLOG + "))")).as("both gateways scraped again")
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

    private void submit(int apiPort, int jobs, String prompt) {
        for (int i = 0; i < jobs; i++) {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/v1/jobs"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + prompt + " " + i
                            + "\",\"width\":64,\"height\":64,\"steps\":4,\"seed\":" + i + "}"))
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
