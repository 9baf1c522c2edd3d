package io.diffq.system;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import tools.jackson.databind.json.JsonMapper;

/**
 * The soak command (not a test): N jobs over M minutes through the real gateway, with workers joining
 * and leaving (graceful stops and kill -9) throughout, all real processes on one real broker. It reports
 * accepted, completed, lost (must be 0), conflicting terminal states (must be 0) and resident memory at
 * start and end, on standard output and as JSON. Run it with {@code infra/soak/soak.sh}.
 *
 * <pre>infra/soak/soak.sh --jobs 10000 --minutes 10 [--latency-ms 20] [--max-workers 3] [--out soak.json]</pre>
 */
public final class Soak {

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = options(args);
        int jobs = Integer.parseInt(opts.getOrDefault("jobs", "10000"));
        double minutes = Double.parseDouble(opts.getOrDefault("minutes", "10"));
        int latencyMs = Integer.parseInt(opts.getOrDefault("latency-ms", "20"));
        int maxWorkers = Integer.parseInt(opts.getOrDefault("max-workers", "3"));
        Path out = Path.of(opts.getOrDefault("out", "soak-results.json"));
        Path dir = Files.createTempDirectory("diffq-soak");
        String workerLatency = "--diffq.worker.simulated.latency=" + latencyMs + "ms";

        try (Cluster cluster = new Cluster(dir)) {
            int port = io.diffq.testing.KafkaBrokerProcess.freePort();
            ServiceProcess gateway = cluster.gatewayProcess(port,
                    "--diffq.gateway.backpressure.max-lag=1000000", "--diffq.gateway.security.rate-limit.requests-per-second=100000",
                    "--diffq.gateway.security.rate-limit.burst=100000");
            Http api = new Http(port);
            List<ServiceProcess> workers = new ArrayList<>();
            workers.add(cluster.worker(workerLatency));
            long gatewayRssStart = gateway.residentKib();
            long workerRssStart = workers.get(0).residentKib();
            log("started: gateway RSS %d KiB, worker RSS %d KiB; submitting %d jobs over %.1f min", gatewayRssStart,
                    workerRssStart, jobs, minutes);

            Set<String> accepted = ConcurrentHashMap.newKeySet();
            AtomicInteger refused = new AtomicInteger();
            AtomicLong next = new AtomicLong();
            long start = System.nanoTime();
            long spanNanos = (long) (minutes * 60e9);
            List<Thread> clients = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread c = new Thread(() -> {
                    long i;
                    while ((i = next.getAndIncrement()) < jobs) {
                        long due = start + spanNanos * i / jobs;
                        sleepNanos(due - System.nanoTime());
                        while (true) {
                            HttpResponse<byte[]> r = api.post("/v1/jobs",
                                    "{\"prompt\":\"soak " + i + "\",\"width\":16,\"height\":16,\"steps\":2}");
                            if (r.statusCode() == 202) {
                                accepted.add(Http.json(r).get("id").asString());
                                break;
                            }
                            refused.incrementAndGet();
                            sleepNanos(Duration.ofSeconds(1).toNanos());
                        }
                    }
                });
                c.start();
                clients.add(c);
            }

            // Chaos: every eighth of the span a worker joins or leaves; leaving alternates SIGTERM and kill -9.
            int joins = 0;
            int gracefulStops = 0;
            int kills = 0;
            for (int round = 1; round < 8; round++) {
                sleepNanos(start + spanNanos * round / 8 - System.nanoTime());
                if (workers.size() < maxWorkers && (round % 3 != 0 || workers.size() == 1)) {
                    workers.add(cluster.worker(workerLatency));
                    joins++;
                    log("round %d: a worker joined (%d running), %d accepted", round, workers.size(), accepted.size());
                } else {
                    ServiceProcess leaving = workers.remove(workers.size() - 1);
                    if (round % 2 == 0) {
                        leaving.kill();
                        kills++;
                    } else {
                        leaving.stop();
                        gracefulStops++;
                    }
                    log("round %d: a worker left by %s (%d running), %d accepted", round,
                            round % 2 == 0 ? "kill -9" : "SIGTERM", workers.size(), accepted.size());
                }
            }
            for (Thread c : clients) {
                c.join();
            }
            log("all %d submitted (%d refused and retried); draining", accepted.size(), refused.get());

            Map<String, List<JobEvent>> events = Map.of();
            Instant drainUntil = Instant.now().plus(Duration.ofMinutes(10));
            while (Instant.now().isBefore(drainUntil)) {
                events = cluster.events();
                Map<String, List<JobEvent>> seen = events;
                long finished = accepted.stream().filter(id -> !terminal(seen.getOrDefault(id, List.of())).isEmpty())
                        .count();
                log("finished %d of %d", finished, accepted.size());
                if (finished == accepted.size()) {
                    break;
                }
                Thread.sleep(5000);
            }
            Map<String, List<JobEvent>> all = events;
            long completed = accepted.stream().filter(id -> !terminal(all.getOrDefault(id, List.of())).isEmpty()).count();
            long conflicting = accepted.stream().filter(id -> terminal(all.getOrDefault(id, List.of())).size() > 1).count();
            Map<JobState, Long> byState = new EnumMap<>(JobState.class);
            long redelivered = 0;
            for (String id : accepted) {
                List<JobEvent> e = all.getOrDefault(id, List.of());
                e.stream().filter(x -> x.state().isTerminal()).findFirst()
                        .ifPresent(x -> byState.merge(x.state(), 1L, Long::sum));
                if (e.stream().anyMatch(x -> x.attempt() > 1)) {
                    redelivered++;
                }
            }
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("jobs", jobs);
            report.put("minutes", minutes);
            report.put("simulatedLatencyMs", latencyMs);
            report.put("accepted", accepted.size());
            report.put("refusedAndRetried", refused.get());
            report.put("completed", completed);
            report.put("lost", accepted.size() - completed);
            report.put("conflictingTerminalStates", conflicting);
            report.put("byState", byState);
            report.put("redelivered", redelivered);
            report.put("workerJoins", joins);
            report.put("workerGracefulStops", gracefulStops);
            report.put("workerKills", kills);
            report.put("gatewayRssKibStart", gatewayRssStart);
            report.put("gatewayRssKibEnd", gateway.residentKib());
            report.put("firstWorkerRssKibStart", workerRssStart);
            report.put("workersRssKibEnd", workers.stream().map(ServiceProcess::residentKib).toList());
            report.put("wallSeconds", (System.nanoTime() - start) / 1_000_000_000L);
            String json = JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(report);
            Files.writeString(out, json);
            System.out.println(json);
            log("written to %s", out.toAbsolutePath());
            if (accepted.size() != completed || conflicting > 0) {
                System.exit(1);
            }
        }
    }

    private static Set<JobState> terminal(List<JobEvent> events) {
        return events.stream().map(JobEvent::state).filter(JobState::isTerminal).collect(Collectors.toSet());
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value, got " + args[i]);
            }
            opts.put(args[i].substring(2), args[i + 1]);
        }
        return opts;
    }

    private static void sleepNanos(long nanos) {
        if (nanos <= 0) {
            return;
        }
        try {
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void log(String format, Object... args) {
        System.err.printf("[soak %tT] %s%n", System.currentTimeMillis(), String.format(format, args));
    }

    private Soak() {
    }
}
