package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Routing by model with real processes (issue 31, docs/design/lanes.md): a gateway with the dispatcher, a worker
 * serving {@code simulated} only and one serving {@code tiny} only (the real tiny model), each in the pool of its
 * model and reading its pool's lane. Every job runs on a worker that serves its model and none fails; priorities hold
 * on the simulated pool (below); a job whose pool has no worker waits, neither run nor failed, and runs when a worker
 * of its pool joins. One test, so the cluster starts once.
 */
class LanesIntegrationTests {

    private static final String LANES = "--diffq.worker.source=lanes";

    @Test
    void eachJobRunsOnAWorkerOfItsModelPrioritiesHoldAndAJobWhosePoolHasNoWorkerWaitsForOne(@TempDir Path dir) {
        try (Cluster cluster = new Cluster(dir)) {
            Http api = cluster.gateway("--diffq.gateway.dispatch.enabled=true");
            ServiceProcess simulated = cluster.worker(LANES, "--diffq.worker.models=simulated",
                    "--diffq.worker.simulated.latency=100ms");
            ServiceProcess tiny = cluster.worker(1, LANES, "--diffq.worker.models=tiny");
            // The tiny worker's card makes the model known to the gateway.
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                    .until(() -> api.getJson("/v1/models").get("models").valueStream()
                            .anyMatch(m -> "tiny".equals(m.get("name").asString())));

            Map<String, String> modelOf = new LinkedHashMap<>();
            for (int i = 0; i < 200; i++) {
                String model = i % 5 == 0 ? "tiny" : "simulated";
                modelOf.put(Cluster.submit(api, job(model, i)), model);
            }
            awaitSucceeded(api, List.copyOf(modelOf.keySet()), Duration.ofMinutes(5));

            Map<String, List<JobEvent>> events = cluster.events();
            Map<String, String> workerOf = Map.of("simulated", simulated.name(), "tiny", tiny.name());
            for (Map.Entry<String, String> job : modelOf.entrySet()) {
                List<JobEvent> history = events.get(job.getKey());
                assertThat(history).as("events of %s", job.getKey())
                        .noneMatch(e -> e.state() == JobState.FAILED)
                        .filteredOn(e -> e.state() == JobState.RUNNING)
                        .isNotEmpty()
                        .allSatisfy(e -> assertThat(e.worker()).as("worker of a %s job", job.getValue())
                                .startsWith(workerOf.get(job.getValue()) + "/"));
            }

            highBeforeNormalAndLowNotStarved(api);

            // No worker of pool tiny: a tiny job waits while simulated jobs submitted after it run.
            tiny.stop();
            String waiting = Cluster.submit(api, job("tiny", 1000));
            List<String> after = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                after.add(Cluster.submit(api, job("simulated", 1001 + i)));
            }
            awaitSucceeded(api, after, Duration.ofMinutes(1));
            assertThat(Cluster.status(api, waiting).get("state").asString()).isEqualTo("QUEUED");

            ServiceProcess joined = cluster.worker(1, LANES, "--diffq.worker.models=tiny");
            awaitSucceeded(api, List.of(waiting), Duration.ofMinutes(2));
            assertThat(cluster.events().get(waiting)).filteredOn(e -> e.state() == JobState.RUNNING)
                    .allSatisfy(e -> assertThat(e.worker()).startsWith(joined.name() + "/"));
        }
    }

    /**
     * The simulated worker busy on 100 ms jobs with 300 normal jobs waiting: a high job submitted then starts after at
     * most the job running and the one released behind it (plus one release the dispatcher may have decided before
     * its view read the high job); a low job submitted behind the 300 earns a starvation credit at each release that
     * passes it over and starts within starvation-credit (10) + 1 releases, plus those.
     */
    private static void highBeforeNormalAndLowNotStarved(Http api) {
        List<String> all = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            all.add(Cluster.submit(api, priorityJob("normal", i)));
        }
        String low = Cluster.submit(api, priorityJob("low", 300));
        String high = Cluster.submit(api, priorityJob("high", 301));
        all.add(low);
        all.add(high);
        awaitSucceeded(api, all, Duration.ofMinutes(3));

        Map<String, Instant> started = new LinkedHashMap<>();
        Map<String, Instant> accepted = new LinkedHashMap<>();
        for (String id : all) {
            var view = Cluster.status(api, id);
            started.put(id, Instant.parse(view.get("startedAt").asString()));
            accepted.put(id, Instant.parse(view.get("createdAt").asString()));
        }
        long beforeHigh = startedBetween(started, accepted.get(high), started.get(high));
        long beforeLow = startedBetween(started, accepted.get(low), started.get(low));
        System.out.printf("lanes: jobs started between acceptance and start: high %d, low %d (of 300 normal)%n",
                beforeHigh, beforeLow);
        assertThat(beforeHigh).as("jobs that started after the high job was accepted and before it started")
                .isLessThanOrEqualTo(3);
        assertThat(beforeLow).as("jobs that started after the low job was accepted and before it started")
                .isLessThanOrEqualTo(3 + 10 + 1);
    }

    private static long startedBetween(Map<String, Instant> started, Instant from, Instant to) {
        return started.values().stream().filter(t -> t.isAfter(from) && t.isBefore(to)).count();
    }

    private static String priorityJob(String priority, int seed) {
        return "{\"prompt\":\"a red circle\",\"model\":\"simulated\",\"priority\":\"" + priority
                + "\",\"width\":8,\"height\":8,\"steps\":1,\"seed\":" + seed + "}";
    }

    private static String job(String model, int seed) {
        return "{\"prompt\":\"a red circle\",\"model\":\"" + model + "\",\"width\":32,\"height\":32,\"steps\":4,"
                + "\"seed\":" + seed + "}";
    }

    private static void awaitSucceeded(Http api, List<String> ids, Duration timeout) {
        List<String> pending = new ArrayList<>(ids);
        await().atMost(timeout).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            pending.removeIf(id -> "SUCCEEDED".equals(Cluster.status(api, id).get("state").asString()));
            assertThat(pending).as("jobs not succeeded yet").isEmpty();
        });
    }
}
