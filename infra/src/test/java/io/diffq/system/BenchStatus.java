package io.diffq.system;

import io.diffq.common.kafka.Topics;
import io.diffq.launcher.AotCache;
import io.diffq.system.BenchStatusJobs.Job;
import io.diffq.system.BenchStatusJobs.Kind;
import io.diffq.testing.KafkaBrokerProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import tools.jackson.databind.JsonNode;

/**
 * The {@code status} scenario: the gateway's status view at size, black-box. For each size N it writes jobs
 * straight to the topics until N are there ({@link BenchStatusJobs}), starts a fresh gateway on an empty status
 * directory ({@code diffq.gateway.status.dir}) and times it to ready, times the reads of the view
 * ({@link BenchStatusReads}), reads the gateway's heap after a GC, its memory and the directory's size, then
 * restarts it gracefully and after a kill -9 on the same directory, timing each start and comparing a fixed
 * sample of jobs with what the first gateway showed. It ends with the arithmetic for 10 million jobs.
 */
final class BenchStatus {

    /** At most this many waiting jobs join the compared sample (all of them below it). */
    static final int MAX_WAITING_COMPARED = 10_000;
    static final long TEN_MILLION = 10_000_000L;
    private static final Duration READY_TIMEOUT = Duration.ofMinutes(15);
    private static final Pattern HEAP_LINE = Pattern.compile("^\\s*(?!Metaspace|class space)([A-Za-z][A-Za-z -]*?)"
            + "\\s+total (\\d+)K, used (\\d+)K");
    private static final List<String> VIEW_TOPICS = List.of(Topics.JOBS, Topics.JOB_EVENTS, Topics.JOB_CONTROLS);

    /** What the arithmetic needs of one size. */
    private record Point(long jobs, long records, double readySeconds, long diskBytes, long heapBytes) {
    }

    /** A gateway started and ready: how long it took, and how many jobs its readiness said it holds. */
    private record Ready(ServiceProcess process, int port, double readyMs, Object jobsInView) {
    }

    private final Cluster cluster;
    private final Path dir;
    private final List<String> gatewayArgs;
    private final BenchSettings settings;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    BenchStatus(Cluster cluster, Path dir, List<String> gatewayArgs, BenchSettings settings) {
        this.cluster = cluster;
        this.dir = dir;
        this.gatewayArgs = gatewayArgs;
        this.settings = settings;
    }

    /** One run per size of {@code --status-jobs}, smallest first, and the 10-million arithmetic. */
    Map<String, Object> run() throws Exception {
        Map<String, Object> runs = new LinkedHashMap<>();
        List<Point> points = new ArrayList<>();
        Map<String, Object> baseline;
        try (BenchStatusJobs jobs = new BenchStatusJobs(cluster.bootstrapServers(), settings.statusWaiting(),
                settings.statusKeys(), settings.statusSeed());
                Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                        cluster.bootstrapServers()))) {
            baseline = baseline(admin, points);
            for (int n : settings.statusJobs().stream().sorted().distinct().toList()) {
                Bench.log("status: %d jobs", n);
                runs.put(n + "-jobs", one(jobs, admin, n, points));
            }
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("description", "N jobs written straight to the topics (" + Math.round(settings.statusWaiting() * 100)
                + " % waiting; of the finished " + Math.round(BenchStatusJobs.CANCELED_SHARE * 100) + " % canceled, "
                + Math.round(BenchStatusJobs.REDELIVERED_SHARE * 100) + " % redelivered with a late write of attempt "
                + "1; owners Zipf over " + settings.statusKeys() + " keys; seed " + settings.statusSeed() + "), then a "
                + "fresh gateway on an empty diffq.gateway.status.dir: process start -> first 200 on "
                + "/actuator/health/readiness; reads from " + settings.statusThreads() + " client threads (reads, then "
                + "readsFromNThreads), "
                + settings.statusReads() + " of each kind after " + settings.statusWarmup()
                + " unmeasured; heap after a GC, "
                + "RSS, disk; a graceful restart and a kill -9 restart on the same directory, each compared with the "
                + "jobs shown before (a fixed sample and the waiting jobs). The API is open (no keys): lists hold "
                + "every job. The bench's shared gateway and workers were stopped before. baseline: a gateway on the "
                + "topics as they were before any of these jobs (the start-up floor, and the heap of a gateway with "
                + "no jobs to speak of).");
        s.put("baseline", baseline);
        s.put("runs", runs);
        s.put("arithmetic10M", arithmetic(points));
        return s;
    }

    /**
     * A gateway on the topics as they are before this scenario writes (empty when it runs alone): its time to
     * ready and its heap are what a gateway costs with no jobs, which the arithmetic takes off.
     */
    private Map<String, Object> baseline(Admin admin, List<Point> points) throws Exception {
        Bench.log("status: baseline");
        Map<String, Object> r = new LinkedHashMap<>();
        Map<String, Long> records = recordsInTopics(admin);
        r.put("recordsInTopics", records);
        Path statusDir = dir.resolve("status-baseline");
        Ready ready = start("gateway-status-baseline", statusDir, List.of());
        r.put("freshStart", started(ready, records.get("total")));
        if (AotCache.enabled(System.getenv())) {
            // The same start without the start-up cache (docs/configuration.md, "Start-up"), on its own directory.
            Ready plain = start("gateway-status-baseline-plain", dir.resolve("status-baseline-plain"),
                    List.of(ServiceProcess.NO_START_UP_CACHE));
            plain.process().stop();
            r.put("freshStartWithoutStartUpCache", started(plain, records.get("total")));
            r.put("startUpCacheSpeedup", LatencyStats.round(plain.readyMs() / ready.readyMs()));
        }
        Map<String, Object> memory = memory(ready.process());
        r.put("memory", memory);
        Map<String, Object> disk = disk(statusDir);
        r.put("disk", disk);
        ready.process().stop();
        points.add(point(records, ready, disk, memory));
        return r;
    }

    private static Point point(Map<String, Long> records, Ready fresh, Map<String, Object> disk,
            Map<String, Object> memory) {
        Object heapKib = memory.get("heapUsedAfterGcKib");
        return new Point(records.get(Topics.JOBS), records.get("total"), fresh.readyMs() / 1000,
                ((Number) disk.get("bytes")).longValue(), heapKib instanceof Number h ? h.longValue() * 1024 : -1);
    }

    private Map<String, Object> one(BenchStatusJobs jobs, Admin admin, int n, List<Point> points) throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("jobs", n);
        r.put("write", jobs.writeUpTo(n));
        Map<String, Long> records = recordsInTopics(admin);
        r.put("recordsInTopics", records);
        long total = records.get("total");
        Path statusDir = dir.resolve("status-" + n);

        Ready fresh = start("gateway-status-" + n, statusDir);
        r.put("freshStart", started(fresh, total));
        List<String> waiting = new ArrayList<>();
        List<String> finished = new ArrayList<>();
        Map<String, Kind> kinds = new HashMap<>();
        for (Job j : jobs.jobs()) {
            (j.kind() == Kind.WAITING ? waiting : finished).add(j.id());
            kinds.put(j.id(), j.kind());
        }
        BenchStatusReads reads = new BenchStatusReads(fresh.port(), fresh.process()::scrape);
        Bench.log("status: reads");
        // The first number of client threads gives "reads"; each further one its own, in the same run.
        List<Integer> threads = settings.statusThreads();
        r.put("reads", reads.measure(waiting, finished, settings.statusReads(), settings.statusWarmup(),
                settings.statusSeed() + n, threads.get(0)));
        for (int t : threads.subList(1, threads.size())) {
            Bench.log("status: reads from " + t + " threads");
            r.put("readsFrom" + t + "Threads", reads.measure(waiting, finished, settings.statusReads(),
                    settings.statusWarmup(),
                    settings.statusSeed() + n, t));
        }
        if (settings.statusRate() > 0) {
            Bench.log("status: polls at " + settings.statusRate() + "/s");
            r.put("pollsAt" + settings.statusRate() + "PerSecond", reads.atRate(waiting, finished,
                    settings.statusPolls(), settings.statusRate(), settings.statusSeed() + n));
        }
        List<String> sample = sample(jobs.jobs(), waiting, settings.statusSample(), settings.statusSeed() + n);
        Map<String, JsonNode> before = reads.snapshot(sample);
        r.put("shownAsWritten", asWritten(before, kinds));
        Map<String, Object> memory = memory(fresh.process());
        r.put("memory", memory);
        Map<String, Object> disk = disk(statusDir);
        r.put("disk", disk);

        Bench.log("status: graceful restart");
        long t0 = System.nanoTime();
        fresh.process().stop();
        double stopMs = (System.nanoTime() - t0) / 1e6;
        Ready graceful = start("gateway-status-" + n + "-restarted", statusDir);
        Map<String, Object> g = restarted(graceful);
        g.put("stopMs", LatencyStats.round(stopMs));
        g.put("comparedWithBefore", BenchStatusReads.compare(before,
                new BenchStatusReads(graceful.port()).snapshot(sample)));
        r.put("gracefulRestart", g);

        Bench.log("status: kill -9 and restart");
        graceful.process().kill();
        Ready killed = start("gateway-status-" + n + "-after-kill", statusDir);
        Map<String, Object> k = restarted(killed);
        k.put("comparedWithBefore", BenchStatusReads.compare(before,
                new BenchStatusReads(killed.port()).snapshot(sample)));
        r.put("killRestart", k);
        r.put("diskAtEnd", disk(statusDir));
        killed.process().stop();

        points.add(point(records, fresh, disk, memory));
        return r;
    }

    /**
     * A gateway with the bench's settings and {@code statusDir}, timed from its process's start to the first
     * {@code 200} on {@code /actuator/health/readiness} (asked every 10 ms).
     */
    private Ready start(String name, Path statusDir) {
        return start(name, statusDir, List.of());
    }

    private Ready start(String name, Path statusDir, List<String> jvmOptions) {
        int port = KafkaBrokerProcess.freePort();
        List<String> args = new ArrayList<>(gatewayArgs);
        args.add("--diffq.gateway.status.dir=" + statusDir);
        ServiceProcess p = cluster.launchGateway(name, port, jvmOptions, args.toArray(String[]::new));
        HttpRequest readiness = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.managementPort()
                + "/actuator/health/readiness")).timeout(Duration.ofSeconds(5)).build();
        long deadline = p.startedNanos() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException(name + " exited before it was ready:\n" + p.tail());
            }
            try {
                HttpResponse<String> r = http.send(readiness, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    double ms = (System.nanoTime() - p.startedNanos()) / 1e6;
                    JsonNode jobs = Http.JSON_MAPPER.readTree(r.body()).path("components").path("statusView")
                            .path("details").get("jobs");
                    Bench.log("status: %s ready after %.0f ms", name, ms);
                    return new Ready(p, port, ms, jobs == null ? null : jobs.asLong());
                }
            } catch (IOException notYet) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            ServiceProcess.sleep(10);
        }
        p.kill();
        throw new IllegalStateException(name + " not ready within " + READY_TIMEOUT + ":\n" + p.tail());
    }

    private static Map<String, Object> started(Ready ready, long records) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("readyMs", LatencyStats.round(ready.readyMs()));
        m.put("recordsInTopics", records);
        m.put("recordsPerSecond", Math.round(records / Math.max(1e-3, ready.readyMs() / 1000)));
        m.put("jobsInViewAtReady", ready.jobsInView());
        return m;
    }

    /**
     * A restart's time to ready and its resident memory then: no rate, since a gateway that kept its directory need
     * not read every record.
     */
    private static Map<String, Object> restarted(Ready ready) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("readyMs", LatencyStats.round(ready.readyMs()));
        m.put("jobsInViewAtReady", ready.jobsInView());
        m.put("residentKibAtReady", ready.process().residentKib());
        return m;
    }

    /**
     * The compared jobs: {@code size} drawn with {@code seed} among all written, then the waiting ones (the first
     * {@link #MAX_WAITING_COMPARED} written), in that order.
     */
    static List<String> sample(List<Job> jobs, List<String> waiting, int size, long seed) {
        int[] order = new int[jobs.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(seed);
        int take = Math.min(size, order.length);
        Set<String> ids = new LinkedHashSet<>();
        for (int i = 0; i < take; i++) {
            int j = i + random.nextInt(order.length - i);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
            ids.add(jobs.get(order[i]).id());
        }
        ids.addAll(waiting.subList(0, Math.min(waiting.size(), MAX_WAITING_COMPARED)));
        return List.copyOf(ids);
    }

    /** How many of the shown jobs are in another state than the one their written history ends in. */
    private static Map<String, Object> asWritten(Map<String, JsonNode> shown, Map<String, Kind> kinds) {
        List<String> examples = new ArrayList<>();
        int mismatches = 0;
        for (Map.Entry<String, JsonNode> e : shown.entrySet()) {
            JsonNode state = e.getValue().get("state");
            String expected = kinds.get(e.getKey()).state;
            if (state == null || !expected.equals(state.asString())) {
                mismatches++;
                if (examples.size() < 5) {
                    examples.add(e.getKey() + ": written " + kinds.get(e.getKey()) + ", shown " + e.getValue());
                }
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("compared", shown.size());
        m.put("mismatches", mismatches);
        m.put("examples", examples);
        return m;
    }

    /** Requests, events and controls on the view's topics (end minus start offsets), and their total. */
    private static Map<String, Long> recordsInTopics(Admin admin) throws Exception {
        Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        admin.describeTopics(VIEW_TOPICS).allTopicNames().get(30, TimeUnit.SECONDS).forEach((topic, d) ->
                d.partitions().forEach(p -> {
                    earliest.put(new TopicPartition(topic, p.partition()), OffsetSpec.earliest());
                    latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest());
                }));
        Map<String, Long> count = new LinkedHashMap<>();
        VIEW_TOPICS.forEach(t -> count.put(t, 0L));
        admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS)
                .forEach((tp, info) -> count.merge(tp.topic(), info.offset(), Long::sum));
        admin.listOffsets(earliest).all().get(30, TimeUnit.SECONDS)
                .forEach((tp, info) -> count.merge(tp.topic(), -info.offset(), Long::sum));
        count.put("total", count.values().stream().mapToLong(Long::longValue).sum());
        return count;
    }

    /**
     * The gateway's heap after a full GC ({@code jcmd GC.run}, then {@code GC.heap_info}: the generations' used and
     * total), its resident memory now and at its peak ({@code VmRSS}, {@code VmHWM}).
     */
    static Map<String, Object> memory(ServiceProcess gateway) {
        Map<String, Object> m = new LinkedHashMap<>();
        jcmd(gateway.pid(), "GC.run");
        String info = jcmd(gateway.pid(), "GC.heap_info");
        long used = 0;
        long committed = 0;
        boolean found = false;
        for (String line : info.split("\n")) {
            Matcher h = HEAP_LINE.matcher(line);
            if (h.find()) {
                found = true;
                committed += Long.parseLong(h.group(2));
                used += Long.parseLong(h.group(3));
            }
        }
        m.put("heapUsedAfterGcKib", found ? used : null);
        m.put("heapCommittedKib", found ? committed : null);
        if (!found) {
            m.put("heapInfo", info);
        }
        m.put("residentKib", gateway.residentKib());
        m.put("peakResidentKib", gateway.peakResidentKib());
        return m;
    }

    private static String jcmd(long pid, String command) {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        try {
            Process p = new ProcessBuilder(jcmd.toString(), String.valueOf(pid), command).redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(60, TimeUnit.SECONDS);
            return out;
        } catch (IOException e) {
            return "jcmd failed: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /**
     * The status directory's size: {@code bytes}, the files' lengths summed; {@code duKib}, what {@code du -sk}
     * says is allocated (RocksDB preallocates some files); both 0 when the gateway made no directory.
     */
    static Map<String, Object> disk(Path statusDir) {
        Map<String, Object> m = new LinkedHashMap<>();
        boolean exists = Files.isDirectory(statusDir);
        m.put("exists", exists);
        long bytes = 0;
        long files = 0;
        long duKib = 0;
        if (exists) {
            try (Stream<Path> walk = Files.walk(statusDir)) {
                for (Path f : walk.filter(Files::isRegularFile).toList()) {
                    bytes += Files.size(f);
                    files++;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            try {
                Process du = new ProcessBuilder("du", "-sk", statusDir.toString()).redirectErrorStream(true).start();
                String out = new String(du.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                du.waitFor(60, TimeUnit.SECONDS);
                duKib = Long.parseLong(out.split("\\s+")[0]);
            } catch (IOException | RuntimeException e) {
                duKib = -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        m.put("bytes", bytes);
        m.put("files", files);
        m.put("duKib", duKib);
        return m;
    }

    /**
     * Disk, bootstrap time and heap at 10 million jobs, from what grew between the first point (the baseline) and
     * the last (the largest size): per further job, so the fixed costs of a gateway with no jobs (its start-up,
     * its heap, its empty directory) stay out of the rates and come back once.
     */
    static Map<String, Object> arithmetic(List<Point> points) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (points.size() < 2 || points.get(points.size() - 1).jobs() <= points.get(0).jobs()) {
            return m;
        }
        Point a = points.get(0);
        Point b = points.get(points.size() - 1);
        double jobs = b.jobs() - a.jobs();
        double records = b.records() - a.records();
        double seconds = b.readySeconds() - a.readySeconds();
        double disk = b.diskBytes() - a.diskBytes();
        m.put("method", "per further job: (largest run - baseline) / (" + b.jobs() + " - " + a.jobs()
                + " jobs in the topics); time to ready = the baseline's + the further records at the rate measured");
        m.put("diskBytesPerJob", LatencyStats.round(disk / jobs));
        m.put("diskBytesAt10M", Math.round(a.diskBytes() + disk / jobs * TEN_MILLION));
        double recordsPerJob = records / jobs;
        m.put("recordsPerJob", LatencyStats.round(recordsPerJob));
        m.put("recordsAt10M", Math.round(recordsPerJob * TEN_MILLION));
        Double rate = seconds > 0 ? records / seconds : null;
        m.put("readyRecordsPerSecond", rate == null ? null : Math.round(rate));
        m.put("startFloorSeconds", LatencyStats.round(a.readySeconds()));
        m.put("readySecondsAt10M", rate == null ? null
                : Math.round(a.readySeconds() + recordsPerJob * TEN_MILLION / rate));
        boolean heap = a.heapBytes() >= 0 && b.heapBytes() >= 0;
        m.put("heapBytesPerJob", heap ? LatencyStats.round((b.heapBytes() - a.heapBytes()) / jobs) : null);
        m.put("heapBytesAt10M", heap ? Math.round(a.heapBytes() + (b.heapBytes() - a.heapBytes()) / jobs
                * TEN_MILLION) : null);
        m.put("assumptions", List.of(
                "10M jobs retained, with this run's mix (waiting share, 5 % canceled, 1 % redelivered) and request "
                        + "size (prompts of 6-24 words, 512x512, no webhook)",
                "records as written, none compacted away (diffq.job-events segments roll at 1 GiB unless segment.ms "
                        + "is set): compaction would leave fewer",
                "a fresh gateway (empty directory) reads every record at the rate measured here, on this machine ("
                        + Runtime.getRuntime().availableProcessors() + " cores shared with the broker and the bench)",
                "disk and heap grow linearly with the jobs retained; heap is the gateway's after a full GC, under "
                        + "-Xmx512m (a gateway holding every job in heap would need far more at 10M)",
                "disk is the status directory's file lengths (0 while the gateway writes none)"));
        return m;
    }
}
