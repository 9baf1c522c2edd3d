package io.diffq.system;

import io.diffq.system.BenchClient.Submit;
import io.diffq.system.JobEventsTap.Trace;
import java.time.Duration;
import java.time.Instant;
import io.diffq.common.model.SimulatedJobTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** What the benchmark reports about a set of submits and the jobs they created. */
final class BenchMeasures {

    static final String IDLE_GAP_DEFINITION = "per worker, its jobs ordered by startedAt; gap = next job's "
            + "startedAt - the latest finishedAt of the jobs it started before (the time of their terminal "
            + "events, both from diffq.job-events); jobs that start before that (the rest of a batch) make no "
            + "gap; a gap counts only when, at that finishedAt, some other job of the same run had been created "
            + "and not yet started (work was waiting while this worker had none)";

    static final String HOL_DEFINITION = "queueWaitMs: each started job's createdAt (the gateway's) -> startedAt "
            + "(its worker's); idealWaitMs: the same jobs in an ideal shared queue (FIFO, the next free worker takes "
            + "the next job, nothing around the jobs' times) fed the same arrivals (createdAt) and each job's drawn "
            + "time; idealWithMeasuredServiceMs: the same with each job's measured startedAt -> finishedAt instead "
            + "(only when every job finished); ratios: the real queue's mean and p99 over the ideal's (targets: "
            + "mean <= 2, p99 <= 3); serviceMinusDrawnMs: measured service time minus the drawn time";

    /** Targets of issue 29 for the real queue's waits over the ideal shared queue's. */
    static final double HOL_MEAN_TARGET = 2.0;
    static final double HOL_P99_TARGET = 3.0;

    /**
     * Head-of-line waiting (see {@link #HOL_DEFINITION}) of the accepted submits and their traces (in the same
     * order), on {@code servers} workers of the simulated model at mean {@code latency} with the exponential
     * spread.
     */
    static Map<String, Object> headOfLine(List<Submit> accepted, List<Trace> traces, int servers, Duration latency) {
        Map<String, Object> m = new LinkedHashMap<>();
        int n = accepted.size();
        if (n == 0 || traces.size() != n) {
            return m;
        }
        Instant origin = traces.stream().map(t -> t.createdAt).min(Comparator.naturalOrder()).orElseThrow();
        double[] arrivals = new double[n];
        double[] drawn = new double[n];
        double[] measured = new double[n];
        boolean allMeasured = true;
        List<Double> real = new ArrayList<>();
        List<Double> serviceMinusDrawn = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Trace t = traces.get(i);
            arrivals[i] = millis(origin, t.createdAt);
            drawn[i] = SimulatedJobTime.exponentialNanos(accepted.get(i).seed(), latency.toNanos()) / 1e6;
            if (t.startedAt != null) {
                real.add(millis(t.createdAt, t.startedAt));
            }
            if (t.startedAt != null && t.finishedAt != null && t.finished.isDone()) {
                measured[i] = millis(t.startedAt, t.finishedAt);
                serviceMinusDrawn.add(measured[i] - drawn[i]);
            } else {
                allMeasured = false;
            }
        }
        Map<String, Object> realStats = LatencyStats.of(real);
        Map<String, Object> ideal = LatencyStats.of(toList(BenchQueueModel.idealWaitsMs(arrivals, drawn, servers)));
        m.put("jobs", n);
        m.put("drawnServiceMs", LatencyStats.of(toList(drawn)));
        m.put("queueWaitMs", realStats);
        m.put("idealWaitMs", ideal);
        if (allMeasured) {
            m.put("idealWithMeasuredServiceMs",
                    LatencyStats.of(toList(BenchQueueModel.idealWaitsMs(arrivals, measured, servers))));
        }
        Double meanRatio = ratio(realStats.get("mean"), ideal.get("mean"));
        Double p99Ratio = ratio(realStats.get("p99"), ideal.get("p99"));
        m.put("meanRatio", meanRatio);
        m.put("p99Ratio", p99Ratio);
        m.put("targets", Map.of("meanRatio", HOL_MEAN_TARGET, "p99Ratio", HOL_P99_TARGET));
        m.put("meetsTargets", meanRatio != null && p99Ratio != null && real.size() == n
                && meanRatio <= HOL_MEAN_TARGET && p99Ratio <= HOL_P99_TARGET);
        m.put("serviceMinusDrawnMs", LatencyStats.of(serviceMinusDrawn));
        return m;
    }

    private static Double ratio(Object real, Object ideal) {
        if (!(real instanceof Double r) || !(ideal instanceof Double i) || i <= 0) {
            return null;
        }
        return LatencyStats.round(r / i);
    }

    private static List<Double> toList(double[] v) {
        return Arrays.stream(v).boxed().toList();
    }

    /** Submit throughput (accepted per second from the first due time to the last answer) and latency. */
    static Map<String, Object> submits(List<Submit> submits) {
        Map<String, Object> m = new LinkedHashMap<>();
        List<Submit> accepted = submits.stream().filter(Submit::accepted).toList();
        m.put("sent", submits.size());
        m.put("accepted", accepted.size());
        m.put("refusedByStatus", submits.stream().filter(s -> !s.accepted())
                .collect(Collectors.groupingBy(s -> String.valueOf(s.status()), TreeMap::new, Collectors.counting())));
        if (!submits.isEmpty()) {
            Instant first = submits.stream().map(Submit::due).min(Comparator.naturalOrder()).orElseThrow();
            Instant last = submits.stream().map(s -> s.due().plusNanos((long) (s.latencyMs() * 1e6)))
                    .max(Comparator.naturalOrder()).orElseThrow();
            m.put("acceptedPerSecond", LatencyStats.round(accepted.size() / seconds(first, last)));
        }
        m.put("latencyMs", LatencyStats.of(accepted.stream().map(Submit::latencyMs).toList()));
        return m;
    }

    /**
     * Queue overhead (createdAt → startedAt), end to end (createdAt → finishedAt), throughput and idle gaps
     * of the jobs; {@code firstSubmit} starts the drain rate's clock.
     */
    static Map<String, Object> jobs(List<Trace> jobs, Instant firstSubmit) {
        Map<String, Object> m = new LinkedHashMap<>();
        List<Trace> done = jobs.stream().filter(t -> t.finished.isDone() && t.createdAt != null).toList();
        m.put("jobs", jobs.size());
        m.put("finished", done.size());
        m.put("byState", done.stream().collect(Collectors.groupingBy(t -> t.state, TreeMap::new,
                Collectors.counting())));
        m.put("redelivered", done.stream().filter(t -> t.attempt > 1).count());
        List<Trace> started = done.stream().filter(t -> t.startedAt != null).toList();
        m.put("queueMs", LatencyStats.of(started.stream().map(t -> millis(t.createdAt, t.startedAt)).toList()));
        m.put("serviceMs", LatencyStats.of(started.stream().map(t -> millis(t.startedAt, t.finishedAt)).toList()));
        m.put("endToEndMs", LatencyStats.of(done.stream().map(t -> millis(t.createdAt, t.finishedAt)).toList()));
        if (!started.isEmpty()) {
            Instant firstStart = started.stream().map(t -> t.startedAt).min(Comparator.naturalOrder()).orElseThrow();
            Instant lastFinish = done.stream().map(t -> t.finishedAt).max(Comparator.naturalOrder()).orElseThrow();
            m.put("busySeconds", LatencyStats.round(seconds(firstStart, lastFinish)));
            m.put("finishedPerSecondBusy", LatencyStats.round(done.size() / seconds(firstStart, lastFinish)));
            if (firstSubmit != null) {
                m.put("drainSeconds", LatencyStats.round(seconds(firstSubmit, lastFinish)));
                m.put("drainRatePerSecond", LatencyStats.round(done.size() / seconds(firstSubmit, lastFinish)));
            }
        }
        m.put("idleGapUnderBacklogMs", LatencyStats.of(idleGaps(started)));
        m.put("jobsPerWorker", started.stream().collect(Collectors.groupingBy(t -> Objects.toString(t.worker),
                TreeMap::new, Collectors.counting())));
        return m;
    }

    /** See {@link #IDLE_GAP_DEFINITION}. */
    static List<Double> idleGaps(List<Trace> started) {
        Map<String, List<Trace>> byWorker = started.stream()
                .collect(Collectors.groupingBy(t -> Objects.toString(t.worker)));
        List<Double> gaps = new ArrayList<>();
        for (List<Trace> own : byWorker.values()) {
            own.sort(Comparator.comparing((Trace t) -> t.startedAt));
            Trace last = own.get(0);
            for (int i = 1; i < own.size(); i++) {
                Trace next = own.get(i);
                Instant free = last.finishedAt;
                if (next.startedAt.isBefore(free)) {
                    // Started while an earlier one ran: the same batch, no gap.
                    if (next.finishedAt.isAfter(free)) {
                        last = next;
                    }
                    continue;
                }
                Trace previous = last;
                boolean waiting = started.stream().anyMatch(t -> t != previous && !t.createdAt.isAfter(free)
                        && t.startedAt.isAfter(free));
                if (waiting) {
                    gaps.add(millis(free, next.startedAt));
                }
                last = next;
            }
        }
        return gaps;
    }

    static double millis(Instant from, Instant to) {
        return Duration.between(from, to).toNanos() / 1e6;
    }

    private static double seconds(Instant from, Instant to) {
        return Math.max(1e-3, Duration.between(from, to).toNanos() / 1e9);
    }

    private BenchMeasures() {
    }
}
