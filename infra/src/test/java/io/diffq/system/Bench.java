package io.diffq.system;

import io.diffq.launcher.AotCache;
import io.diffq.system.BenchClient.Submit;
import io.diffq.system.JobEventsTap.Trace;
import io.diffq.testing.KafkaBrokerProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import tools.jackson.databind.json.JsonMapper;

/**
 * The benchmark command (not a test): the queue's own overhead, measured through real processes (a KRaft
 * broker, one gateway, workers of the simulated model) on loopback. It runs named scenarios and writes one
 * JSON file; see docs/benchmarks.md. Run it with {@code infra/bench/bench.sh}.
 *
 * <pre>infra/bench/bench.sh [--quick] [--scenarios idle,drain,batch,submit,scale,hol,abuse,floor,status] [--out bench-results.json]</pre>
 */
public final class Bench {

    static final List<String> SCENARIOS = List.of("idle", "drain", "batch", "submit", "scale", "hol", "abuse",
            "floor", "status");
    /**
     * What runs without {@code --scenarios}: all but {@code status}, which writes 100,000 jobs, runs gateways of
     * its own and stops the shared one (named, it runs last), and {@code floor}, which measures bare Kafka
     * clients, not diffq.
     */
    static final List<String> DEFAULT_SCENARIOS = SCENARIOS.stream()
            .filter(s -> !s.equals("status") && !s.equals("floor")).toList();
    static final int PARTITIONS = 12;
    /** The workers' {@code max-batch} in the {@code batch} scenario. */
    static final int BATCH = 8;
    /** The {@code hol} scenario: workers, their mean job time (exponential, CV 1) and the load offered to them. */
    static final int HOL_WORKERS = 4;
    static final int HOL_MEAN_MS = 400;
    static final double HOL_LOAD = 0.8;

    private final BenchSettings settings;
    private final ServiceProcess gateway;
    private final BenchFleet fleet;
    private final BenchClient client;
    private final JobEventsTap tap;
    private final int port;
    private final Cluster cluster;
    private final Path dir;
    private final List<String> gatewayArgs;

    private Bench(BenchSettings settings, ServiceProcess gateway, BenchFleet fleet, BenchClient client,
            JobEventsTap tap, int port, Cluster cluster, Path dir, List<String> gatewayArgs) {
        this.settings = settings;
        this.cluster = cluster;
        this.dir = dir;
        this.gatewayArgs = List.copyOf(gatewayArgs);
        this.port = port;
        this.gateway = gateway;
        this.fleet = fleet;
        this.client = client;
        this.tap = tap;
    }

    public static void main(String[] args) throws Exception {
        BenchSettings settings = BenchSettings.parse(args);
        Path dir = Files.createTempDirectory("diffq-bench");
        long began = System.nanoTime();
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("startedAt", Instant.now().toString());
        report.put("settings", settings.describe());
        report.put("loadAverageAtStart", loadAverage());
        // The services' JVM, and whether they start from their start-up caches (docs/configuration.md, "Start-up").
        report.put("java", Runtime.version().toString());
        report.put("startUpCache", AotCache.enabled(System.getenv()));
        try (Cluster cluster = new Cluster(dir)) {
            int port = KafkaBrokerProcess.freePort();
            List<String> gatewayArgs = new ArrayList<>(List.of(
                    "--diffq.topics.partitions=" + settings.partitions(),
                    "--diffq.topics.job-partitions=" + settings.partitions(),
                    "--diffq.gateway.security.rate-limit.enabled=false",
                    "--diffq.gateway.backpressure.max-lag=1000000000",
                    "--diffq.gateway.backpressure.max-oldest-wait=7d"));
            // More gateway settings to compare (e.g. BENCH_GATEWAY_ARGS=--server.tomcat.connection-timeout=60s).
            String more = System.getenv("BENCH_GATEWAY_ARGS");
            if (more != null && !more.isBlank()) {
                gatewayArgs.addAll(List.of(more.trim().split("\\s+")));
                report.put("gatewayArgs", gatewayArgs);
            }
            String workerArgs = System.getenv("BENCH_WORKER_ARGS");
            if (workerArgs != null && !workerArgs.isBlank()) {
                report.put("workerArgs", workerArgs.trim());
            }
            ServiceProcess gateway = cluster.gatewayProcess(port, gatewayArgs.toArray(String[]::new));
            log("broker and gateway up (logs in %s)", dir);
            try (JobEventsTap tap = new JobEventsTap(cluster.broker().bootstrapServers());
                    BenchFleet fleet = new BenchFleet(cluster)) {
                Bench bench = new Bench(settings, gateway, fleet, new BenchClient(port, tap), tap, port, cluster, dir,
                        gatewayArgs);
                // status alone runs no worker and not the shared gateway: nothing to warm.
                report.put("warmup", settings.scenarios().equals(List.of("status"))
                        ? Map.of("skipped", "only the status scenario") : bench.warmup());
                Map<String, Object> scenarios = new LinkedHashMap<>();
                for (String name : settings.scenarios()) {
                    log("scenario %s", name);
                    scenarios.put(name, bench.run(name));
                }
                report.put("scenarios", scenarios);
                fleet.stopAll();
            }
        }
        report.put("loadAverageAtEnd", loadAverage());
        report.put("wallSeconds", (System.nanoTime() - began) / 1_000_000_000L);
        String json = JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(report);
        Files.writeString(settings.out(), json + "\n");
        BenchTable.print(report);
        log("written to %s", settings.out().toAbsolutePath());
    }

    private Map<String, Object> run(String scenario) throws Exception {
        Map<String, Object> result = switch (scenario) {
            case "idle" -> idle();
            case "drain" -> drain(1);
            case "batch" -> drain(BATCH);
            case "submit" -> submit();
            case "scale" -> scale();
            case "hol" -> hol();
            case "abuse" -> abuse();
            case "floor" -> floor();
            case "status" -> status();
            default -> throw new IllegalArgumentException(scenario);
        };
        return result;
    }

    /** Primes the JITs and the group: jobs through one worker, not reported beyond their count. */
    private Map<String, Object> warmup() {
        fleet.scaleTo(1, Duration.ZERO, 1);
        List<Submit> s = client.burst(settings.warmupJobs(), 8);
        awaitFinished(traces(s), Duration.ofMinutes(2));
        return Map.of("jobs", s.size(), "workers", 1, "simulatedLatencyMs", 0);
    }

    /**
     * {@code n} workers at {@code latency}, each of which has run a job (a worker's first job waits for its
     * start-up, e.g. the replay of the cancels, which is no part of the queue's steady state). Returns whether
     * the group settled and every worker ran a priming job.
     */
    private boolean workers(int n, Duration latency) {
        return workers(n, latency, 1);
    }

    private boolean workers(int n, Duration latency, int maxBatch) {
        return workers(n, latency, maxBatch, "none");
    }

    /**
     * As above with the simulated model's latency spread. Only workers with partitions must prime: a consumer
     * group of more workers than partitions leaves the rest idle.
     */
    private boolean workers(int n, Duration latency, int maxBatch, String spread) {
        boolean settled = fleet.scaleTo(n, latency, maxBatch, spread);
        Set<String> names = fleet.namesWithPartitions();
        for (int round = 0; round < 5; round++) {
            List<Trace> primed = traces(client.burst(Math.max(8, 4 * n), 8));
            if (!awaitFinished(primed, Duration.ofSeconds(60))) {
                return false;
            }
            names.removeIf(w -> primed.stream().anyMatch(t -> t.worker != null && t.worker.startsWith(w + "/")));
            if (names.isEmpty()) {
                return settled;
            }
        }
        log("workers %s ran no priming job", names);
        return false;
    }

    /** One closed-loop client: submit, wait for the job's terminal event, repeat. */
    private Map<String, Object> idle() {
        Map<String, Object> runs = new LinkedHashMap<>();
        for (int n : List.of(1, 2, 4)) {
            boolean settled = workers(n, Duration.ZERO);
            List<Submit> submits = new ArrayList<>();
            List<Trace> traces = new ArrayList<>();
            List<Double> roundTrips = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < settings.idleJobs(); i++) {
                long t0 = System.nanoTime();
                Submit s = client.submit();
                submits.add(s);
                if (s.accepted()) {
                    Trace t = tap.trace(s.id());
                    traces.add(t);
                    if (!awaitFinished(List.of(t), Duration.ofSeconds(30))) {
                        break;
                    }
                    roundTrips.add((System.nanoTime() - t0) / 1e6);
                }
            }
            Map<String, Object> r = base(n, 0, settled);
            r.put("clients", 1);
            r.put("jobsPerSecond", LatencyStats.round(traces.size() / ((System.nanoTime() - start) / 1e9)));
            r.put("submit", BenchMeasures.submits(submits));
            r.put("jobs", BenchMeasures.jobs(traces, null));
            r.put("clientRoundTripMs", LatencyStats.of(roundTrips));
            r.put("peakRssKib", peakRss());
            runs.put(n + "-workers", r);
        }
        return scenario("one client in a closed loop (submit, wait for the terminal event, repeat), 0 ms model",
                runs);
    }

    /** The processes whose CPU a scenario reports: the broker, the gateway, each worker, and this JVM (the clients). */
    private Map<String, Long> processes() {
        Map<String, Long> pids = new LinkedHashMap<>();
        pids.put("broker", cluster.broker().pid());
        pids.put("gateway", gateway.pid());
        pids.putAll(fleet.pids());
        pids.put("bench", ProcessHandle.current().pid());
        return pids;
    }

    /**
     * N jobs at once from 32 clients, then wait for all of them, at 0 ms and 100 ms per job
     * ({@code --drain-latencies}), 2 workers; with {@code maxBatch} above 1 the workers draw up to that many
     * waiting jobs as one batch (the simulated model takes its latency once per batch, as a GPU takes about one
     * job's time for a small batch).
     */
    private Map<String, Object> drain(int maxBatch) {
        Map<String, Object> runs = new LinkedHashMap<>();
        for (int latencyMs : settings.drainLatencies()) {
            boolean settled = workers(2, Duration.ofMillis(latencyMs), maxBatch);
            BenchCpu.Snapshot cpu0 = BenchCpu.take(processes());
            Instant first = Instant.now();
            List<Submit> submits = client.burst(settings.drainJobs(), 32);
            List<Trace> traces = traces(submits);
            boolean all = awaitFinished(traces,
                    Duration.ofSeconds(120).plusMillis((long) settings.drainJobs() * latencyMs / 2));
            BenchCpu.Snapshot cpu1 = BenchCpu.take(processes());
            Map<String, Object> r = base(2, latencyMs, settled);
            r.put("maxBatch", maxBatch);
            r.put("clients", 32);
            r.put("allFinished", all);
            r.put("submit", BenchMeasures.submits(submits));
            r.put("jobs", BenchMeasures.jobs(traces, first));
            // From the first submit to the last terminal event: the submits, the tap and the drain together.
            r.put("cpuMsPerJob", BenchCpu.perJob(cpu0, cpu1, traces.size()));
            r.put("peakRssKib", peakRss());
            runs.put(latencyMs + "ms", r);
        }
        return scenario(settings.drainJobs() + " jobs submitted at once by 32 client threads, then drained by "
                + "2 workers" + (maxBatch > 1 ? " drawing up to " + maxBatch + " waiting jobs as one batch" : ""),
                runs);
    }

    /**
     * The Kafka floor under {@code drain}: bare clients doing a job's Kafka work, {@code --drain-jobs} jobs per
     * variant ({@link BenchFloor}). The workers are stopped; the gateway stays up, idle.
     */
    private Map<String, Object> floor() throws Exception {
        fleet.stopAll();
        return scenario(settings.drainJobs() + " jobs per variant through bare Kafka clients in the bench's JVM "
                + "(32 submitting threads, 2 or 4 worker threads): the broker's floor under diffq's drain",
                new BenchFloor(cluster.broker(), this::processes).run(settings.drainJobs()));
    }

    /**
     * The submit path alone, with no worker (so no worker competes for the CPU): open loop at fixed rates,
     * then closed loops of growing concurrency. Its jobs are then skipped (the group's offsets moved to the end).
     */
    private Map<String, Object> submit() throws Exception {
        fleet.stopAll();
        Map<String, Object> runs = new LinkedHashMap<>();
        Duration d = settings.submitDuration();
        // Not measured: warms the gateway's submit path at load and opens the client's connections, without
        // which the first open-loop run measures a cold start.
        int warm = client.flood(32, Duration.ofSeconds(settings.quick() ? 2 : 5)).size();
        for (int rate : List.of(500, 1000, 2000)) {
            List<Submit> submits = client.openLoop(rate, d, 1024);
            Map<String, Object> r = base(0, 0, true);
            r.put("mode", "open loop: submit i due at start + i/rate; latency from the due time");
            r.put("offeredPerSecond", rate);
            r.put("durationSeconds", d.toSeconds());
            r.put("unanswered", (long) (rate * d.toSeconds()) - submits.size());
            r.put("submit", BenchMeasures.submits(submits));
            r.put("peakRssKib", peakRss());
            runs.put("open-" + rate, r);
        }
        String best = null;
        double bestRate = -1;
        for (int clients : settings.floodClients()) {
            long cpu0 = gateway.cpuMillis();
            List<Submit> submits = client.flood(clients, d);
            long cpu = gateway.cpuMillis() - cpu0;
            Map<String, Object> r = base(0, 0, true);
            r.put("mode", "closed loop: each client sends its next submit when the previous one answered");
            r.put("clients", clients);
            r.put("durationSeconds", d.toSeconds());
            Map<String, Object> s = BenchMeasures.submits(submits);
            r.put("submit", s);
            long accepted = submits.stream().filter(Submit::accepted).count();
            // The gateway's own CPU per job: steadier than a rate while the client shares the cores.
            r.put("gatewayCpuMicrosPerAccepted",
                    accepted == 0 || cpu < 0 ? null : (Object) LatencyStats.round(cpu * 1000.0 / accepted));
            r.put("peakRssKib", peakRss());
            runs.put("max-" + clients + "-clients", r);
            double rate = (double) s.getOrDefault("acceptedPerSecond", 0.0);
            if (rate > bestRate) {
                bestRate = rate;
                best = "max-" + clients + "-clients";
            }
        }
        Map<String, Object> result = scenario("submit path only, no workers; 202 means the broker acknowledged "
                + "the job", runs);
        result.put("maxRate", Map.of("run", best, "acceptedPerSecond", bestRate));
        result.put("warmupSubmits", warm);
        fleet.skipBacklog();
        return result;
    }

    /**
     * 100 ms jobs with each count of {@code --scale-workers} (1, 2, 4, 8, 24); a backlog of about
     * {@code scaleSeconds} of work for all. Reports how many jobs each worker process ran, idle ones included.
     */
    private Map<String, Object> scale() {
        Map<String, Object> runs = new LinkedHashMap<>();
        int latencyMs = 100;
        for (int n : settings.scaleWorkers()) {
            boolean settled = workers(n, Duration.ofMillis(latencyMs));
            int jobs = (int) (n * (1000 / latencyMs) * settings.scaleSeconds());
            Instant first = Instant.now();
            List<Submit> submits = client.burst(jobs, 32);
            List<Trace> traces = traces(submits);
            boolean all = awaitFinished(traces, Duration.ofSeconds(120).plusMillis((long) jobs * latencyMs / n));
            Map<String, Object> r = base(n, latencyMs, settled);
            r.put("allFinished", all);
            r.put("submit", BenchMeasures.submits(submits));
            Map<String, Object> j = BenchMeasures.jobs(traces, first);
            r.put("jobs", j);
            double throughput = (double) j.getOrDefault("finishedPerSecondBusy", 0.0);
            r.put("throughputPerSecond", throughput);
            r.put("idealPerSecond", n * 1000.0 / latencyMs);
            r.put("efficiency", LatencyStats.round(throughput / (n * 1000.0 / latencyMs)));
            Map<String, Long> perWorker = new TreeMap<>();
            for (String w : fleet.names()) {
                perWorker.put(w, traces.stream().filter(t -> t.worker != null && t.worker.startsWith(w + "/")).count());
            }
            r.put("jobsPerWorkerProcess", perWorker);
            r.put("workersThatRanJobs", perWorker.values().stream().filter(c -> c > 0).count());
            r.put("peakRssKib", peakRss());
            runs.put(n + "-workers", r);
        }
        Map<String, Object> result = scenario("100 ms jobs, a backlog of ~" + settings.scaleSeconds()
                + " s of work for N workers; throughput = finished / (first start .. last finish); efficiency = "
                + "throughput / (N x 10 jobs/s); " + settings.partitions() + " partitions"
                + "; a consumer group gives each partition to one worker, so past " + settings.partitions()
                + " workers the rest idle (a share group lets every worker take jobs); jobsPerWorkerProcess counts "
                + "each worker's jobs in the run, idle ones included", runs);
        return result;
    }

    /**
     * Head-of-line waiting: Poisson arrivals (seeded) at {@link #HOL_LOAD} of {@link #HOL_WORKERS} workers'
     * capacity, each job's time drawn from its seed (exponential, mean {@link #HOL_MEAN_MS}), against the ideal
     * shared queue fed the same arrivals (the jobs' createdAt) and the same job times.
     */
    private Map<String, Object> hol() {
        int n = HOL_WORKERS;
        Duration mean = Duration.ofMillis(HOL_MEAN_MS);
        boolean settled = workers(n, mean, 1, "exponential");
        double rate = HOL_LOAD * n * 1000.0 / HOL_MEAN_MS;
        double[] dueMs = BenchQueueModel.poissonArrivalsMs(settings.holSeed(), rate, settings.holSeconds());
        SplittableRandom seeds = new SplittableRandom(settings.holSeed() + 1);
        long[] jobSeeds = new long[dueMs.length];
        for (int i = 0; i < jobSeeds.length; i++) {
            jobSeeds[i] = seeds.nextLong(1L << 32); // the API's seeds are below 2^32
        }
        Instant first = Instant.now();
        List<Submit> submits = client.openLoop(dueMs, jobSeeds, 1024);
        List<Trace> traces = traces(submits);
        boolean all = awaitFinished(traces, Duration.ofSeconds(120));
        Map<String, Object> r = base(n, HOL_MEAN_MS, settled);
        r.put("latencySpread", "exponential");
        r.put("offeredPerSecond", rate);
        r.put("load", HOL_LOAD);
        r.put("arrivalSeconds", settings.holSeconds());
        r.put("allFinished", all);
        r.put("submit", BenchMeasures.submits(submits));
        r.put("jobs", BenchMeasures.jobs(traces, first));
        r.put("headOfLine", BenchMeasures.headOfLine(submits.stream().filter(Submit::accepted).toList(),
                traces, n, mean));
        r.put("peakRssKib", peakRss());
        Map<String, Object> result = scenario("head-of-line waiting: Poisson arrivals (seed " + settings.holSeed()
                + ") at " + Math.round(HOL_LOAD * 100) + " % of " + n + " workers' capacity for "
                + settings.holSeconds() + " s, each job's time drawn from its seed (exponential, mean " + HOL_MEAN_MS
                + " ms, CV 1); " + settings.partitions() + " partitions. " + BenchMeasures.HOL_DEFINITION,
                Map.of(n + "-workers", r));
        return result;
    }

    /** A slowloris and a stream dropper against the gateway, while a normal client polls a job. */
    private Map<String, Object> abuse() throws Exception {
        fleet.stopAll();
        return scenario("a normal client polls GET /v1/jobs/{id} every 20 ms: alone, while " + settings.abuseConnections()
                + " connections from one host send a header line each every 5 s and never finish (slowloris), after "
                + "it, and after 300 event streams were opened and dropped unread",
                new BenchAbuse(port, gateway).run(settings.abuseConnections(), settings.abuseDuration(), 300));
    }

    /**
     * The status view at size ({@link BenchStatus}), with gateways of its own: the workers and the shared gateway
     * stop first, so that no worker runs the written jobs and no other gateway reads them.
     */
    private Map<String, Object> status() throws Exception {
        fleet.stopAll();
        gateway.stop();
        return new BenchStatus(cluster, dir, gatewayArgs, settings).run();
    }

    private Map<String, Object> base(int workers, int latencyMs, boolean settled) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("workers", workers);
        r.put("simulatedLatencyMs", latencyMs);
        r.put("workersSettledAndPrimed", settled);
        if (workers > 0) {
            r.put("partitionsPerWorker", fleet.assignment());
        }
        return r;
    }

    private Map<String, Object> scenario(String description, Map<String, Object> runs) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("description", description);
        s.put("runs", runs);
        return s;
    }

    /**
     * VmHWM of each process, read after a run: the highest RSS since the process started, so the gateway's and
     * the broker's (which live through the whole benchmark) include the runs before.
     */
    private Map<String, Object> peakRss() {
        Map<String, Object> rss = new LinkedHashMap<>();
        rss.put("gateway", gateway.peakResidentKib());
        rss.put("broker", brokerPid() < 0 ? -1 : ServiceProcess.procStatusKib(brokerPid(), "VmHWM"));
        rss.put("workers", fleet.peakResidentKib());
        return rss;
    }

    /** The host's 1, 5 and 15 minute load averages (other work on the cores skews every number). */
    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The broker is a child of this JVM (KafkaBrokerProcess), running {@code kafka.Kafka}. */
    private static long brokerPid() {
        return ProcessHandle.current().children().filter(p -> commandLine(p.pid()).contains("\0kafka.Kafka\0"))
                .mapToLong(ProcessHandle::pid).findFirst().orElse(-1);
    }

    /** The arguments, NUL-separated ({@code ProcessHandle.Info} truncates long ones), or "" when gone. */
    private static String commandLine(long pid) {
        try {
            return Files.readString(Path.of("/proc", String.valueOf(pid), "cmdline"),
                    StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return "";
        }
    }

    private List<Trace> traces(List<Submit> submits) {
        return submits.stream().filter(Submit::accepted).map(s -> tap.trace(s.id())).toList();
    }

    private boolean awaitFinished(List<Trace> traces, Duration timeout) {
        boolean all = tap.awaitFinished(traces, timeout);
        if (!all) {
            log("not every job finished within %s", timeout);
        }
        return all;
    }

    static void log(String format, Object... args) {
        System.err.printf("[bench %tT] %s%n", System.currentTimeMillis(), String.format(format, args));
    }
}
