package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.diffq.common.model.SimulatedJobTime;
import io.diffq.system.BenchClient.Submit;
import io.diffq.system.JobEventsTap.Trace;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@SuppressWarnings("unchecked")
class BenchMeasuresTests {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @Test
    void aGapCountsOnlyWhileAnotherJobWaits() {
        Trace a = job("a", 0, 0, 100, "w1");
        Trace b = job("b", 0, 130, 230, "w1");   // waited from 0: the 30 ms gap after a counts
        Trace c = job("c", 500, 510, 600, "w1"); // created after b finished: that gap is idleness, not waiting
        assertThat(BenchMeasures.idleGaps(new ArrayList<>(List.of(c, a, b)))).containsExactly(30.0);
    }

    @Test
    void jobsOfOneBatchMakeNoGapAndTheNextBatchsGapRunsFromTheBatchsLastFinish() {
        Trace a = job("a", 0, 0, 100, "w1");
        Trace b = job("b", 0, 0, 104, "w1");     // a's batch: no gap between them
        Trace c = job("c", 0, 110, 200, "w1");   // the next batch: 6 ms after the last of a's batch finished
        Trace d = job("d", 0, 110, 201, "w1");
        Trace e = job("e", 0, 210, 300, "w1");   // 9 ms after d, waited from 0
        assertThat(BenchMeasures.idleGaps(new ArrayList<>(List.of(e, d, c, b, a)))).containsExactly(6.0, 9.0);
    }

    @Test
    void headOfLineComparesEachJobsWaitWithTheIdealQueuesOnTheSameArrivalsAndDrawnTimes() {
        Duration mean = Duration.ofMillis(100);
        double d1 = SimulatedJobTime.exponentialNanos(11, mean.toNanos()) / 1e6;
        double d2 = SimulatedJobTime.exponentialNanos(12, mean.toNanos()) / 1e6;
        // Both created at 0 on one worker: ideally a waits 0 and b waits a's time; really a waited 10 ms and b
        // 40 ms more than ideal.
        Trace a = job("a", 0, 10, 10 + Math.round(d1), "w1");
        Trace b = job("b", 0, Math.round(d1) + 40, Math.round(d1 + d2) + 40, "w1");
        List<Submit> submits = List.of(submit("a", 11), submit("b", 12));

        Map<String, Object> hol = BenchMeasures.headOfLine(submits, List.of(a, b), 1, mean);

        double realB = Math.round(d1) + 40;
        assertThat((Map<String, Object>) hol.get("idealWaitMs")).containsEntry("max", LatencyStats.round(d1))
                .containsEntry("mean", LatencyStats.round(d1 / 2));
        assertThat((Map<String, Object>) hol.get("queueWaitMs")).containsEntry("max", realB);
        assertThat((double) hol.get("meanRatio")).isCloseTo((10 + realB) / d1, within(0.02));
        assertThat((double) hol.get("p99Ratio")).isCloseTo(realB / d1, within(0.02));
        assertThat(hol.get("meetsTargets")).isEqualTo((10 + realB) / d1 <= 2 && realB / d1 <= 3);
    }

    @Test
    void percentilesAreNearestRank() {
        Map<String, Object> s = LatencyStats.of(List.of(5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 10.0));
        assertThat(s).containsEntry("count", 10).containsEntry("p50", 5.0).containsEntry("p95", 10.0)
                .containsEntry("max", 10.0).containsEntry("mean", 5.5);
    }

    private static Submit submit(String id, long seed) {
        return new Submit(T0, 1, 202, id, T0, seed);
    }

    private static Trace job(String id, long created, long started, long finished, String worker) {
        Trace t = new Trace(id);
        t.createdAt = T0.plusMillis(created);
        t.startedAt = T0.plusMillis(started);
        t.finishedAt = T0.plusMillis(finished);
        t.worker = worker;
        t.finished.complete(null);
        return t;
    }
}
