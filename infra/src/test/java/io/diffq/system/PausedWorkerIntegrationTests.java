package io.diffq.system;

import static io.diffq.system.Cluster.awaitState;
import static io.diffq.system.Cluster.submit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker paused (SIGSTOP: a long GC pause, a stuck disk) past its acquisition lock while it runs a job loses
 * the job: another worker takes it as the next attempt and finishes it, and the paused one, resumed, writes
 * nothing more for it (its lease ran out: the worker's fence). Found by the fault campaign (docs/testing.md,
 * "Fault campaign"; seed 1 and seed 2, 180 s), where the resumed worker used to finish its stale attempt and write
 * RUNNING and a terminal event after the new attempt's terminal event.
 */
class PausedWorkerIntegrationTests {

    @Test
    void aWorkerResumedAfterLosingItsPartitionWritesNothingForTheJobAnotherWorkerFinished(@TempDir Path dir)
            throws Exception {
        try (Cluster cluster = new Cluster(dir)) {
            Http api = cluster.gateway();
            ServiceProcess paused = cluster.worker("--diffq.worker.simulated.step-latency=1s");
            String id = submit(api, "{\"prompt\":\"paused mid-job\",\"width\":8,\"height\":8,\"steps\":8}");
            awaitState(api, id, "RUNNING", Duration.ofSeconds(30));

            signal(paused, "STOP");
            // The test broker's lock is 15 s: then the new worker takes the job and runs attempt 2.
            cluster.worker("--diffq.worker.simulated.step-latency=100ms");
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> cluster.events().getOrDefault(id, List.of()).stream().anyMatch(e -> e.state().isTerminal()));
            signal(paused, "CONT");

            // Long enough for the resumed worker to finish the 8 s job it had in hand.
            await().during(Duration.ofSeconds(15)).atMost(Duration.ofSeconds(45)).pollInterval(Duration.ofSeconds(1))
                    .untilAsserted(() -> assertThat(afterTerminal(cluster.events().get(id)))
                            .as("events after the terminal one, all: %s", cluster.events().get(id)).isEmpty());
        }
    }

    /** Events after the first terminal one that are not a later attempt (a counted redelivery). */
    private static List<JobEvent> afterTerminal(List<JobEvent> events) {
        int terminal = 0;
        while (terminal < events.size() && !events.get(terminal).state().isTerminal()) {
            terminal++;
        }
        if (terminal == events.size()) {
            return List.of();
        }
        int attempt = events.get(terminal).attempt();
        return events.subList(terminal + 1, events.size()).stream().filter(e -> e.attempt() <= attempt).toList();
    }

    private static void signal(ServiceProcess p, String signal) throws IOException, InterruptedException {
        assertThat(new ProcessBuilder("kill", "-" + signal, String.valueOf(p.pid())).start().waitFor()).isZero();
    }
}
