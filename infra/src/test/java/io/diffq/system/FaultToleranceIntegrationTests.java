package io.diffq.system;

import static io.diffq.system.Cluster.awaitState;
import static io.diffq.system.Cluster.status;
import static io.diffq.system.Cluster.submit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A production queue on its worst day, every part a real process: a worker killed mid-job, a graceful stop,
 * a job that kills every worker that runs it, the broker restarts under load, deadlines and cancels. No
 * accepted job is lost and none ends in two different terminal states. Workers joining and leaving at random
 * under load, and gateways killed and paused, are the fault campaign's ({@code ChaosCampaignIntegrationTests});
 * a restarted gateway that knows every job is {@code TwoGatewaysIntegrationTests}' and
 * {@link EndToEndIntegrationTests}'.
 */
class FaultToleranceIntegrationTests {

    @Test
    void aWorkerKilledMidJobLosesNothingTheJobRunsAgainAsAttempt2(@TempDir Path dir) {
        try (Cluster cluster = new Cluster(dir)) {
            Http api = cluster.gateway();
            ServiceProcess first = cluster.worker("--diffq.worker.simulated.latency=8s");
            String id = submit(api, "{\"prompt\":\"long\",\"steps\":8}");
            awaitState(api, id, "RUNNING", Duration.ofSeconds(30));

            first.kill();
            cluster.worker("--diffq.worker.simulated.latency=1s");

            awaitState(api, id, "SUCCEEDED", Duration.ofSeconds(60));
            assertThat(status(api, id).get("attempt").asInt()).isEqualTo(2);
            assertThat(api.get("/v1/jobs/" + id + "/image").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aGracefulStopFinishesTheJobInHandWithinTheGraceOrHandsItBack(@TempDir Path dir) {
        try (Cluster cluster = new Cluster(dir)) {
            Http api = cluster.gateway();
            ServiceProcess patient = cluster.worker("--diffq.worker.simulated.latency=3s",
                    "--diffq.worker.shutdown-grace=30s");
            String quick = submit(api, "{\"prompt\":\"fits the grace\",\"steps\":6}");
            awaitState(api, quick, "RUNNING", Duration.ofSeconds(30));
            patient.stop();
            // The job in hand finished before the worker left (no worker runs now, so nobody else did it).
            awaitState(api, quick, "SUCCEEDED", Duration.ofSeconds(10));
            assertThat(status(api, quick).get("attempt").asInt()).isEqualTo(1);

            ServiceProcess hurried = cluster.worker("--diffq.worker.simulated.latency=30s",
                    "--diffq.worker.shutdown-grace=2s");
            String slow = submit(api, "{\"prompt\":\"longer than the grace\",\"steps\":30}");
            awaitState(api, slow, "RUNNING", Duration.ofSeconds(30));
            long t0 = System.nanoTime();
            hurried.stop();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(25));
            assertThat(status(api, slow).get("state").asString()).isEqualTo("RUNNING");

            // Handed back, not lost, and not counted as a failed attempt: the next worker runs attempt 1 again.
            cluster.worker("--diffq.worker.simulated.latency=1s");
            awaitState(api, slow, "SUCCEEDED", Duration.ofSeconds(60));
            assertThat(status(api, slow).get("attempt").asInt()).isEqualTo(1);
        }
    }

    @Test
    void aJobThatKillsEveryWorkerEndsFailedOnTheDeadLetterTopicAndTheOthersComplete(@TempDir Path dir) {
        try (Cluster cluster = new Cluster(dir)) {
            Http api = cluster.gateway();
            String poison = submit(api, "{\"prompt\":\"segfault please\",\"steps\":4}");
            List<String> others = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                others.add(submit(api, "{\"prompt\":\"fine " + i + "\",\"steps\":2}"));
            }
            // A supervisor (Kubernetes, systemd) restarts a worker that died.
            AtomicInteger restarts = new AtomicInteger();
            await().atMost(Duration.ofSeconds(300)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                Map<String, List<JobEvent>> events = cluster.events();
                if (events.keySet().containsAll(others) && events.containsKey(poison)
                        && events.values().stream().allMatch(this::hasTerminal)) {
                    return true;
                }
                if (current == null || !current.isAlive()) {
                    restarts.incrementAndGet();
                    try {
                        // One attempt: the worker the poison job kills first counts it (the broker's delivery
                        // count survives the crash), and the next worker ends it instead of running it again.
                        current = cluster.worker("--diffq.worker.simulated.latency=1s",
                                "--diffq.worker.simulated.crash-pattern=segfault", "--diffq.worker.max-attempts=1");
                    } catch (IllegalStateException diedWhileStarting) {
                        // the poison job can kill it before it reports healthy
                    }
                }
                return false;
            });

            assertThat(restarts.get()).isGreaterThanOrEqualTo(2);
            assertThat(status(api, poison).get("state").asString()).isEqualTo("FAILED");
            assertThat(status(api, poison).get("error").get("type").asString()).isEqualTo("attempts-exhausted");
            assertThat(cluster.deadLettered()).contains(poison);
            for (String id : others) {
                assertThat(status(api, id).get("state").asString()).isEqualTo("SUCCEEDED");
            }
        }
    }

    /** The worker the poison test's supervisor last started. */
    private ServiceProcess current;

    @Test
    void theBrokerRestartsUnderLoadSubmitsGet503WhileItIsDownAndEveryAcceptedJobCompletes(@TempDir Path dir)
            throws Exception {
        try (Cluster cluster = new Cluster(dir)) {
            Http api = cluster.gateway();
            cluster.worker("--diffq.worker.simulated.latency=100ms");
            List<String> accepted = new CopyOnWriteArrayList<>();
            // Every answer other than 202, as "status Retry-After", checked on the test's thread after join:
            // an assertion inside the client thread would only end that thread, never fail the test.
            List<String> refused = new CopyOnWriteArrayList<>();
            AtomicBoolean submitting = new AtomicBoolean(true);
            Thread client = new Thread(() -> {
                int i = 0;
                while (submitting.get()) {
                    try {
                        HttpResponse<byte[]> r = api.post("/v1/jobs", "{\"prompt\":\"load " + (i++) + "\",\"steps\":2}");
                        if (r.statusCode() == 202) {
                            accepted.add(Http.json(r).get("id").asString());
                        } else {
                            refused.add(r.statusCode() + " " + r.headers().firstValue("Retry-After").orElse("(none)"));
                        }
                    } catch (RuntimeException e) {
                        refused.add("no answer: " + e);
                    }
                    ServiceProcess.sleep(100);
                }
            });
            client.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> accepted.size() >= 20);

            cluster.broker().stop();
            await().atMost(Duration.ofSeconds(60)).until(() -> refused.size() >= 2);
            cluster.broker().restart();
            // Submits are accepted again: ten more after the restart, then the client stops.
            int beforeTheRestart = accepted.size();
            await().atMost(Duration.ofSeconds(90)).until(() -> accepted.size() >= beforeTheRestart + 10);
            submitting.set(false);
            client.join(30_000);
            assertThat(client.isAlive()).as("the client stopped").isFalse();

            assertThat(refused).hasSizeGreaterThanOrEqualTo(2)
                    .allSatisfy(answer -> assertThat(answer).matches("503 [1-9][0-9]*"));
            await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(2)).untilAsserted(() -> {
                for (String id : accepted) {
                    assertThat(status(api, id).get("state").asString()).as(id).isEqualTo("SUCCEEDED");
                }
            });
            Map<String, List<JobEvent>> events = cluster.events();
            for (String id : accepted) {
                assertThat(events.get(id).stream().map(JobEvent::state).filter(JobState::isTerminal)
                        .collect(Collectors.toSet())).containsExactly(JobState.SUCCEEDED);
            }
        }
    }

    @Test
    void deadlinesExpireUnrunAndCancelsStopQueuedAndRunningJobs(@TempDir Path dir) {
        try (Cluster cluster = new Cluster(dir)) {
            Http api = cluster.gateway();
            String expiring = submit(api, "{\"prompt\":\"in a hurry\",\"deadlineSeconds\":1}");
            String queued = submit(api, "{\"prompt\":\"never mind\"}");
            assertThat(api.delete("/v1/jobs/" + queued).statusCode()).isEqualTo(202);
            ServiceProcess.sleep(2000);

            ServiceProcess worker = cluster.worker("--diffq.worker.simulated.latency=20s");
            awaitState(api, expiring, "EXPIRED", Duration.ofSeconds(60));
            awaitState(api, queued, "CANCELED", Duration.ofSeconds(60));
            assertThat(status(api, queued).get("attempt").asInt()).isLessThanOrEqualTo(1);
            // Canceled while queued (and the worker started after the cancel): it never ran, not even one step.
            assertThat(cluster.events().get(queued)).extracting(JobEvent::state)
                    .contains(JobState.CANCELED).doesNotContain(JobState.RUNNING);
            assertThat(status(api, expiring).get("error").get("type").asString()).isEqualTo("deadline-exceeded");

            String running = submit(api, "{\"prompt\":\"long\",\"steps\":40}");
            awaitState(api, running, "RUNNING", Duration.ofSeconds(30));
            long asked = System.nanoTime();
            assertThat(api.delete("/v1/jobs/" + running).statusCode()).isEqualTo(202);
            awaitState(api, running, "CANCELED", Duration.ofSeconds(15));
            // It stopped at a denoising step (0.5 s apart), long before its 20 s were up.
            assertThat(Duration.ofNanos(System.nanoTime() - asked)).isLessThan(Duration.ofSeconds(10));

            String workerMetrics = worker.scrape();
            assertThat(workerMetrics).contains("state=\"EXPIRED\"} 1.0").doesNotContain(
                    "diffq_job_inference_seconds_count{application=\"diffq-worker\",gpu=\"cpu\",model=\"simulated\"} 1");
        }
    }

    private boolean hasTerminal(List<JobEvent> events) {
        return events.stream().anyMatch(e -> e.state().isTerminal());
    }

    private static long terminal(Map<String, List<JobEvent>> events) {
        Set<String> done = new HashSet<>();
        events.forEach((id, list) -> {
            if (list.stream().anyMatch(e -> e.state().isTerminal())) {
                done.add(id);
            }
        });
        return done.size();
    }

}
