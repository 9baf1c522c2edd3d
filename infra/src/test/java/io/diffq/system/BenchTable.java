package io.diffq.system;

import java.util.List;
import java.util.Map;

/**
 * The short table the benchmark prints after its JSON: one line per run of a scenario; {@code hol}, {@code abuse},
 * {@code floor} and {@code status} add lines of their own.
 */
final class BenchTable {

    /** Scenarios whose runs print lines of their own instead of a row of the table. */
    private static final List<String> OWN_LINES = List.of("abuse", "floor", "status");
    private static final String FORMAT = "%-22s %6s %9s %15s %17s %17s %15s %9s%n";

    @SuppressWarnings("unchecked")
    static void print(Map<String, Object> report) {
        Map<String, Object> scenarios = (Map<String, Object>) report.getOrDefault("scenarios", Map.of());
        List<String> rows = scenarios.keySet().stream().filter(n -> !OWN_LINES.contains(n)).toList();
        if (!rows.isEmpty()) {
            System.out.printf(FORMAT, "run", "jobs", "accept/s", "submit p50/p99", "queue p50/p99", "e2e p50/p99",
                    "gap p50/p99", "done/s");
            rows.forEach(name -> ((Map<String, Object>) ((Map<String, Object>) scenarios.get(name)).get("runs"))
                    .forEach((run, r) -> row(name + " " + run, (Map<String, Object>) r)));
            System.out.println("(latencies in ms; done/s: drain rate for drain runs, busy throughput otherwise)");
        }
        if (scenarios.get("hol") instanceof Map<?, ?> hol) {
            ((Map<String, Object>) hol.get("runs")).forEach((run, o) -> {
                Map<String, Object> h = (Map<String, Object>) ((Map<String, Object>) o).getOrDefault("headOfLine",
                        Map.of());
                Map<String, Object> real = (Map<String, Object>) h.getOrDefault("queueWaitMs", Map.of());
                Map<String, Object> ideal = (Map<String, Object>) h.getOrDefault("idealWaitMs", Map.of());
                System.out.printf("hol %s: wait mean/p99 %s/%s ms, ideal shared queue %s/%s ms, ratios %s/%s "
                        + "(targets 2/3)%n", run, real.get("mean"), real.get("p99"), ideal.get("mean"),
                        ideal.get("p99"), h.get("meanRatio"), h.get("p99Ratio"));
            });
        }
        if (scenarios.containsKey("abuse")) {
            System.out.printf("%-22s %22s %9s %14s%n", "abuse run", "normal GET p50/p99/max", "failures",
                    "gateway RSS MiB");
            ((Map<String, Object>) ((Map<String, Object>) scenarios.get("abuse")).get("runs")).forEach((run, o) -> {
                Map<String, Object> r = (Map<String, Object>) o;
                Map<String, Object> get = (Map<String, Object>) r.getOrDefault("normalClientGetMs", Map.of());
                Object rss = r.getOrDefault("gatewayRssDuringKib", r.get("gatewayPeakRssKib"));
                System.out.printf("%-22s %22s %9s %14s%n", run, pair(get) + (get.containsKey("max")
                                ? "/" + fmt(get.get("max")) : ""), r.get("normalClientFailures"),
                        rss instanceof Number n ? String.valueOf(n.longValue() / 1024) : "-");
            });
        }
        if (scenarios.get("floor") instanceof Map<?, ?> floor) {
            System.out.printf("%-22s %9s %15s %15s %15s %41s%n", "floor run", "jobs/s", "submit p50/p99",
                    "writes p50/p99", "gap p50/p99", "CPU ms per job: all / broker / clients");
            ((Map<String, Object>) floor.get("runs")).forEach((run, o) -> {
                Map<String, Object> r = (Map<String, Object>) o;
                Map<String, Object> cpu = (Map<String, Object>) r.getOrDefault("cpuMsPerJob", Map.of());
                System.out.printf("%-22s %9s %15s %15s %15s %41s%n", run, r.get("jobsPerSecond"),
                        pair(r.get("submitMs")), pair(r.get("writesMs")), pair(r.get("idleGapMs")),
                        cpu.get("all") + " / " + cpu.get("broker") + " / " + cpu.get("bench"));
            });
        }
        if (scenarios.get("status") instanceof Map<?, ?> status) {
            status((Map<String, Object>) status);
        }
    }

    /** Per size: start-up and restarts, mismatches, the reads' p50/p99, memory and disk; then the 10M arithmetic. */
    @SuppressWarnings("unchecked")
    private static void status(Map<String, Object> status) {
        if (status.get("baseline") instanceof Map<?, ?> b) {
            Map<String, Object> fresh = (Map<String, Object>) b.get("freshStart");
            Map<String, Object> memory = (Map<String, Object>) b.get("memory");
            System.out.printf("status baseline (%s records): ready %s s, heap after GC %s MiB, RSS %s MiB%n",
                    fresh.get("recordsInTopics"), seconds(fresh.get("readyMs")),
                    mib(memory.get("heapUsedAfterGcKib"), 1024), mib(memory.get("residentKib"), 1024));
        }
        ((Map<String, Object>) status.getOrDefault("runs", Map.of())).forEach((run, o) -> {
            Map<String, Object> r = (Map<String, Object>) o;
            Map<String, Object> fresh = (Map<String, Object>) r.getOrDefault("freshStart", Map.of());
            Map<String, Object> graceful = (Map<String, Object>) r.getOrDefault("gracefulRestart", Map.of());
            Map<String, Object> killed = (Map<String, Object>) r.getOrDefault("killRestart", Map.of());
            System.out.printf("status %s: ready %s s (%s records/s), graceful restart %s s, kill -9 restart %s s; "
                    + "mismatches %s / %s (as written: %s)%n", run, seconds(fresh.get("readyMs")),
                    fresh.get("recordsPerSecond"), seconds(graceful.get("readyMs")), seconds(killed.get("readyMs")),
                    mismatches(graceful.get("comparedWithBefore")), mismatches(killed.get("comparedWithBefore")),
                    mismatches(r.get("shownAsWritten")));
            StringBuilder reads = new StringBuilder("  reads p50/p99 ms:");
            ((Map<String, Object>) r.getOrDefault("reads", Map.of())).forEach((kind, stats) ->
                    reads.append(' ').append(kind.replaceFirst("Ms$", "")).append(' ').append(pair(stats)));
            System.out.println(reads);
            r.forEach((key, value) -> {
                if (key.startsWith("pollsAt") && value instanceof Map<?, ?> polls) {
                    StringBuilder line = new StringBuilder("  " + key + " (open loop) p50/p99 ms:");
                    polls.forEach((kind, stats) -> {
                        line.append(' ').append(kind.toString().replaceFirst("Ms$", "")).append(' ').append(pair(stats));
                        if (stats instanceof Map<?, ?> k && k.get("fromSendMs") != null) {
                            line.append(" (from the send ").append(pair(k.get("fromSendMs"))).append(')');
                        }
                        if (stats instanceof Map<?, ?> k && k.get("gatewayHistogramMs") instanceof Map<?, ?> g) {
                            line.append(" (gateway's histogram <=").append(fmt(g.get("p50AtMost"))).append("/<=")
                                    .append(fmt(g.get("p99AtMost"))).append(')');
                        }
                    });
                    System.out.println(line);
                }
            });
            Map<String, Object> memory = (Map<String, Object>) r.getOrDefault("memory", Map.of());
            Map<String, Object> disk = (Map<String, Object>) r.getOrDefault("disk", Map.of());
            System.out.printf("  heap after GC %s MiB, RSS %s MiB (peak %s), status dir %s MiB%n",
                    mib(memory.get("heapUsedAfterGcKib"), 1024), mib(memory.get("residentKib"), 1024),
                    mib(memory.get("peakResidentKib"), 1024), mib(disk.get("bytes"), 1024 * 1024));
        });
        if (status.get("arithmetic10M") instanceof Map<?, ?> a && !a.isEmpty()) {
            System.out.printf("status at 10M jobs: disk %s GiB, fresh start to ready %s s (%s records at %s/s), "
                    + "heap %s GiB%n", mib(a.get("diskBytesAt10M"), 1L << 30), a.get("readySecondsAt10M"),
                    a.get("recordsAt10M"), a.get("readyRecordsPerSecond"), mib(a.get("heapBytesAt10M"), 1L << 30));
        }
    }

    private static String seconds(Object ms) {
        return ms instanceof Number n ? String.format("%.1f", n.doubleValue() / 1000) : "-";
    }

    private static String mismatches(Object compared) {
        return compared instanceof Map<?, ?> m ? m.get("mismatches") + " of " + m.get("compared") : "-";
    }

    /** {@code value} in units of {@code unit}, one decimal, or "-" when absent. */
    private static String mib(Object value, long unit) {
        return value instanceof Number n && n.doubleValue() >= 0 ? String.format("%.1f", n.doubleValue() / unit)
                : "-";
    }

    @SuppressWarnings("unchecked")
    private static void row(String name, Map<String, Object> r) {
        Map<String, Object> submit = (Map<String, Object>) r.getOrDefault("submit", Map.of());
        Map<String, Object> jobs = (Map<String, Object>) r.getOrDefault("jobs", Map.of());
        Object rate = jobs.containsKey("drainRatePerSecond") && (name.startsWith("drain") || name.startsWith("batch"))
                ? jobs.get("drainRatePerSecond") : jobs.getOrDefault("finishedPerSecondBusy", "-");
        System.out.printf(FORMAT, name, jobs.getOrDefault("jobs", submit.getOrDefault("accepted", "-")),
                submit.getOrDefault("acceptedPerSecond", "-"), pair(submit.get("latencyMs")), pair(jobs.get("queueMs")),
                pair(jobs.get("endToEndMs")), pair(jobs.get("idleGapUnderBacklogMs")), rate);
    }

    @SuppressWarnings("unchecked")
    private static String pair(Object stats) {
        if (!(stats instanceof Map<?, ?> m) || !m.containsKey("p50")) {
            return "-";
        }
        return fmt(m.get("p50")) + "/" + fmt(m.get("p99"));
    }

    private static String fmt(Object v) {
        double d = ((Number) v).doubleValue();
        return d >= 100 ? String.valueOf(Math.round(d)) : String.format("%.1f", d);
    }

    private BenchTable() {
    }
}
