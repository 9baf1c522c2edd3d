package io.diffq.system;

import java.util.Map;

/** The short table the benchmark prints after its JSON: one line per run of a scenario. */
final class BenchTable {

    private static final String FORMAT = "%-22s %6s %9s %15s %17s %17s %15s %9s%n";

    @SuppressWarnings("unchecked")
    static void print(Map<String, Object> report) {
        System.out.printf(FORMAT, "run", "jobs", "accept/s", "submit p50/p99", "queue p50/p99", "e2e p50/p99",
                "gap p50/p99", "done/s");
        Map<String, Object> scenarios = (Map<String, Object>) report.getOrDefault("scenarios", Map.of());
        scenarios.forEach((name, s) -> {
            if (!name.equals("abuse")) {
                ((Map<String, Object>) ((Map<String, Object>) s).get("runs"))
                        .forEach((run, r) -> row(name + " " + run, (Map<String, Object>) r));
            }
        });
        System.out.println("(latencies in ms; done/s: drain rate for drain runs, busy throughput otherwise)");
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
