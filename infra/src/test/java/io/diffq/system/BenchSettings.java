package io.diffq.system;

import io.diffq.testing.JvmOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark's options: {@code --quick} (about 3 minutes instead of about 15), {@code --scenarios a,b},
 * {@code --out FILE}, {@code --partitions N} of {@code diffq.jobs} and the other per-job topics (12, as the
 * earlier results ran; the service now gives {@code diffq.jobs} 1 by default),
 * and overrides of each scenario's size.
 */
record BenchSettings(boolean quick, List<String> scenarios, Path out, int warmupJobs, int idleJobs, int drainJobs,
        List<Integer> drainLatencies,
        Duration submitDuration, List<Integer> floodClients, int scaleSeconds, List<Integer> scaleWorkers,
        int abuseConnections, Duration abuseDuration, int partitions, int holSeconds, long holSeed,
        List<Integer> statusJobs, double statusWaiting, int statusKeys, int statusReads, int statusSample,
        long statusSeed, List<Integer> statusThreads, int statusRate, int statusWarmup, int statusPolls) {

    static BenchSettings parse(String[] args) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name [value], got " + args[i]);
            }
            String name = args[i].substring(2);
            if (name.equals("quick") || name.equals("help")) {
                o.put(name, "true");
            } else if (i + 1 < args.length) {
                o.put(name, args[++i]);
            } else {
                throw new IllegalArgumentException("--" + name + " needs a value");
            }
        }
        if (o.containsKey("help")) {
            System.out.println("bench.sh [--quick] [--scenarios " + String.join(",", Bench.SCENARIOS)
                    + "] [--out bench-results.json] [--warmup-jobs N] [--idle-jobs N] [--drain-jobs N]"
                    + " [--drain-latencies 0,100]"
                    + " [--submit-seconds S] [--flood-clients 4,16,64] [--scale-seconds S] [--scale-workers 1,2,4,8,24]"
                    + " [--hol-seconds S] [--hol-seed N]"
                    + " [--abuse-connections N] [--abuse-seconds S] [--partitions 12]"
                    + " [--status-jobs 100000,1000000] [--status-waiting 0.1] [--status-keys 100] [--status-reads N]"
                    + " [--status-threads 8 (a list: the reads again at each number of client threads)]"
                    + " [--status-rate 1000 (polls a second, open loop; 0: none)]"
                    + " [--status-warmup 1000 (unmeasured reads of each kind before each measured run)]"
                    + " [--status-polls 10000 (the open loop's polls of each kind: its p99 is their 100th slowest)]"
                    + " [--status-sample 2000] [--status-seed 41]"
                    + "\nWithout --scenarios: " + String.join(",", Bench.DEFAULT_SCENARIOS)
                    + " (status only when named; it always runs last)");
            System.exit(0);
        }
        boolean quick = o.containsKey("quick");
        List<String> named = Arrays.stream(o.getOrDefault("scenarios", String.join(",", Bench.DEFAULT_SCENARIOS))
                .split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        for (String s : named) {
            if (!Bench.SCENARIOS.contains(s)) {
                throw new IllegalArgumentException("unknown scenario " + s + "; known: " + Bench.SCENARIOS);
            }
        }
        // status stops the shared gateway and the workers, and leaves its jobs in the topics: it runs last.
        List<String> scenarios = new ArrayList<>(named.stream().filter(s -> !s.equals("status")).toList());
        if (named.contains("status")) {
            scenarios.add("status");
        }
        return new BenchSettings(quick, List.copyOf(scenarios),
                Path.of(o.getOrDefault("out", "bench-results.json")),
                Integer.parseInt(o.getOrDefault("warmup-jobs", quick ? "100" : "300")),
                Integer.parseInt(o.getOrDefault("idle-jobs", quick ? "50" : "200")),
                Integer.parseInt(o.getOrDefault("drain-jobs", quick ? "300" : "2000")),
                Arrays.stream(o.getOrDefault("drain-latencies", "0,100").split(","))
                        .map(String::trim).map(Integer::valueOf).toList(),
                Duration.ofSeconds(Long.parseLong(o.getOrDefault("submit-seconds", quick ? "3" : "10"))),
                Arrays.stream(o.getOrDefault("flood-clients", quick ? "4,32" : "4,16,64").split(","))
                        .map(String::trim).map(Integer::valueOf).toList(),
                Integer.parseInt(o.getOrDefault("scale-seconds", quick ? "3" : "10")),
                Arrays.stream(o.getOrDefault("scale-workers", quick ? "1,8,24" : "1,2,4,8,24").split(","))
                        .map(String::trim).map(Integer::valueOf).toList(),
                Integer.parseInt(o.getOrDefault("abuse-connections", quick ? "2000" : "8000")),
                Duration.ofSeconds(Long.parseLong(o.getOrDefault("abuse-seconds", quick ? "10" : "30"))),
                Integer.parseInt(o.getOrDefault("partitions", String.valueOf(Bench.PARTITIONS))),
                Integer.parseInt(o.getOrDefault("hol-seconds", quick ? "45" : "90")),
                Long.parseLong(o.getOrDefault("hol-seed", "29")),
                Arrays.stream(o.getOrDefault("status-jobs", quick ? "20000" : "100000").split(","))
                        .map(String::trim).map(Integer::valueOf).toList(),
                Double.parseDouble(o.getOrDefault("status-waiting", "0.1")),
                Integer.parseInt(o.getOrDefault("status-keys", "100")),
                Integer.parseInt(o.getOrDefault("status-reads", quick ? "2000" : "4000")),
                Integer.parseInt(o.getOrDefault("status-sample", "2000")),
                Long.parseLong(o.getOrDefault("status-seed", "41")),
                Arrays.stream(o.getOrDefault("status-threads", String.valueOf(BenchStatusReads.THREADS)).split(","))
                        .map(String::trim).map(Integer::valueOf).toList(),
                Integer.parseInt(o.getOrDefault("status-rate", "1000")),
                Integer.parseInt(o.getOrDefault("status-warmup", "1000")),
                Integer.parseInt(o.getOrDefault("status-polls", "10000")));
    }

    Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quick", quick);
        m.put("scenarios", scenarios);
        m.put("warmupJobs", warmupJobs);
        m.put("idleJobsPerWorkerCount", idleJobs);
        m.put("drainJobs", drainJobs);
        m.put("drainLatenciesMs", drainLatencies);
        m.put("submitSecondsPerRun", submitDuration.toSeconds());
        m.put("floodClients", floodClients);
        m.put("scaleBacklogSeconds", scaleSeconds);
        m.put("scaleWorkers", scaleWorkers);
        m.put("holArrivalSeconds", holSeconds);
        m.put("holSeed", holSeed);
        m.put("abuseConnections", abuseConnections);
        m.put("abuseSeconds", abuseDuration.toSeconds());
        if (scenarios.contains("status")) {
            m.put("statusJobs", statusJobs);
            m.put("statusWaitingShare", statusWaiting);
            m.put("statusKeys", statusKeys);
            m.put("statusReadsPerKind", statusReads);
            m.put("statusSample", statusSample);
            m.put("statusSeed", statusSeed);
            m.put("statusReadThreads", statusThreads);
            m.put("statusPollsPerSecond", statusRate);
            m.put("statusWarmupReadsPerKind", statusWarmup);
            m.put("statusOpenLoopPollsPerKind", statusPolls);
        }
        m.put("partitions", partitions);
        m.put("delivery", "share group");
        m.put("job", "simulated model, 8x8, 1 step (hol: each job's time drawn from its seed)");
        m.put("processes", "broker, gateway and workers are separate JVMs on this host (the system tests' flags: "
                + "-Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1); the client runs in the bench's JVM");
        // Options added to them (BENCH_*_JVM_ARGS; later options win, e.g. -XX:TieredStopAtLevel=4 for the full JIT).
        for (String service : List.of("GATEWAY", "WORKER", "BROKER")) {
            List<String> more = JvmOptions.fromEnvironment("BENCH_" + service + "_JVM_ARGS");
            if (!more.isEmpty()) {
                m.put(service.toLowerCase(java.util.Locale.ROOT) + "JvmArgs", String.join(" ", more));
            }
        }
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("clock", "createdAt is the gateway's, startedAt/finishedAt the workers', all on this host's clock");
        m.put("idleGap", BenchMeasures.IDLE_GAP_DEFINITION);
        return m;
    }
}
