package io.diffq.chaos;

import io.diffq.common.job.JobEvent;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * One seed's result as the JSON report names it: operations, accepted and finished jobs, the faults as carried
 * out (by kind and target), throughput with and without a fault in progress, and every violation.
 */
record CampaignReport(long seed, long durationSeconds, int operations, int accepted, int finished,
        Map<String, Long> faultsByKind, Map<String, Long> faultsByRole, List<Violation> violations,
        Map<String, Object> json) {

    static CampaignReport of(Campaign.Settings s, List<Op> ops, TopicContents topics, Nemesis nemesis, long loadEnded,
            double quiescenceSeconds, double wallSeconds, List<Violation> violations) {
        List<String> accepted = ops.stream().filter(Op::accepted).map(Op::jobId).distinct().toList();
        Map<String, Long> terminals = new TreeMap<>();
        accepted.forEach(id -> terminals.merge(topics.terminal(id).map(e -> e.state().name()).orElse("none"), 1L,
                Long::sum));
        int finished = (int) accepted.stream().filter(id -> topics.terminal(id).isPresent()).count();
        List<Nemesis.Executed> faults = nemesis.executed();
        Map<String, Long> byKind = count(faults, e -> e.fault().kind().name().toLowerCase());
        Map<String, Long> byRole = count(faults, e -> e.fault().role());

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("seed", s.seed());
        json.put("durationSeconds", s.duration().toSeconds());
        json.put("clients", s.clients());
        json.put("startedAt", Instant.ofEpochMilli(nemesis.began()).toString());
        json.put("operations", ops.size());
        json.put("operationsByKind", count(ops, op -> op.kind().name().toLowerCase()));
        json.put("answersByStatus", count(ops, op -> op.outcome() == Op.Outcome.ANSWERED ? String.valueOf(op.status())
                : op.outcome().name().toLowerCase()));
        json.put("accepted", accepted.size());
        json.put("finished", finished);
        json.put("terminalStates", terminals);
        json.put("deadLettered", topics.deadLettered().size());
        json.put("ranAgainAfterTerminal", topics.events().values().stream()
                .filter(es -> es.stream().filter(e -> e.state().isTerminal()).count() > 1).count());
        json.put("lateWrites", topics.lateWrites().size());
        json.put("lateWriteExamples", topics.lateWrites().stream().limit(20).map(e -> e.jobId() + ": " + e.state()
                + "/attempt " + e.attempt() + " by " + e.worker() + " at " + e.at()).toList());
        json.put("canceledQueuedStartedThenStopped",
                CancelCheck.startedAfterCancel(new CheckInput(ops, topics, ChaosCluster.MAX_ATTEMPTS)));
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("total", faults.size());
        f.put("byKind", byKind);
        f.put("byTarget", count(faults, e -> e.fault().target()));
        f.put("byKindAndTarget", count(faults, e -> e.fault().kind().name().toLowerCase() + " " + e.fault().target()));
        f.put("failedToInject", faults.stream().filter(e -> e.error() != null).count());
        f.put("executed", faults.stream().map(CampaignReport::fault).toList());
        json.put("faults", f);
        json.put("throughput", throughput(ops, topics, accepted, faults, nemesis.began(), loadEnded));
        json.put("quiescenceSeconds", Math.round(quiescenceSeconds));
        json.put("wallSeconds", Math.round(wallSeconds));
        json.put("violationCount", violations.size());
        json.put("violations", violations.stream().limit(500).map(v -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("invariant", v.invariant());
            m.put("jobId", v.jobId());
            m.put("evidence", v.evidence());
            return m;
        }).toList());
        return new CampaignReport(s.seed(), s.duration().toSeconds(), ops.size(), accepted.size(), finished, byKind,
                byRole, violations, json);
    }

    private static Map<String, Object> fault(Nemesis.Executed e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("plannedAtSeconds", e.fault().atMs() / 1000.0);
        m.put("injectedAtSeconds", e.injectedMs() / 1000.0);
        m.put("healedAtSeconds", e.healedMs() / 1000.0);
        m.put("kind", e.fault().kind().name().toLowerCase());
        m.put("target", e.fault().target());
        m.put("durationSeconds", e.fault().durationMs() / 1000.0);
        if (e.error() != null) {
            m.put("error", e.error());
        }
        return m;
    }

    /** Accepted submits and finished jobs per second, while some fault was in progress and while none was. */
    private static Map<String, Object> throughput(List<Op> ops, TopicContents topics, List<String> accepted,
            List<Nemesis.Executed> faults, long began, long loadEnded) {
        boolean[] faulty = new boolean[(int) Math.max(1, (loadEnded - began) / 1000 + 1)];
        for (Nemesis.Executed e : faults) {
            for (long sec = e.injectedMs() / 1000; sec <= e.healedMs() / 1000 && sec < faulty.length; sec++) {
                faulty[(int) sec] = true;
            }
        }
        long[] acceptedIn = new long[2];
        ops.stream().filter(Op::accepted).filter(op -> op.phase().equals(Op.LOAD)).forEach(op -> {
            int sec = (int) ((op.endMs() - began) / 1000);
            if (sec >= 0 && sec < faulty.length) {
                acceptedIn[faulty[sec] ? 1 : 0]++;
            }
        });
        long[] finishedIn = new long[2];
        accepted.forEach(id -> topics.terminal(id).map(JobEvent::at).ifPresent(at -> {
            int sec = (int) ((at.toEpochMilli() - began) / 1000);
            if (sec >= 0 && sec < faulty.length) {
                finishedIn[faulty[sec] ? 1 : 0]++;
            }
        }));
        long faultSeconds = 0;
        for (boolean b : faulty) {
            faultSeconds += b ? 1 : 0;
        }
        long calm = faulty.length - faultSeconds;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("duringFaults", rates(faultSeconds, acceptedIn[1], finishedIn[1]));
        m.put("withoutFaults", rates(calm, acceptedIn[0], finishedIn[0]));
        return m;
    }

    private static Map<String, Object> rates(long seconds, long accepted, long finished) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seconds", seconds);
        m.put("acceptedPerSecond", seconds == 0 ? 0 : Math.round(accepted * 100.0 / seconds) / 100.0);
        m.put("finishedPerSecond", seconds == 0 ? 0 : Math.round(finished * 100.0 / seconds) / 100.0);
        return m;
    }

    private static <T> Map<String, Long> count(List<T> items, Function<T, String> key) {
        return items.stream().collect(Collectors.groupingBy(key, TreeMap::new, Collectors.counting()));
    }

    /** One line for the console. */
    String summary() {
        return String.format("seed %d: %d s, %d operations, %d accepted, %d finished, faults %s, %d violations",
                seed, durationSeconds, operations, accepted, finished, faultsByKind, violations.size());
    }
}
