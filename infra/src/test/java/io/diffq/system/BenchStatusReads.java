package io.diffq.system;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The {@code status} scenario's client: the reads of the status view, each kind timed on its own from a number of
 * client threads ({@value #THREADS} unless the bench says otherwise; closed loops on kept-alive connections), and
 * snapshots of jobs as the gateway shows them, to compare across restarts.
 */
final class BenchStatusReads {

    static final int THREADS = 8;
    /** Connections that the open loop's polls go out on: enough that one slow answer does not hold the next. */
    static final int OPEN_LOOP_CONNECTIONS = 16;
    /** The page that {@code listPage10} reads, reached by following {@code next} from the first. */
    static final int DEEP_PAGE = 10;
    static final int PAGE_SIZE = 20;
    /** The fields of a job's view that its history decides (as StatusAfterCompactionIntegrationTests compares). */
    static final List<String> COMPARED = List.of("state", "attempt", "model", "progress", "createdAt", "startedAt",
            "finishedAt", "error", "request", "links");
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final String host = "127.0.0.1";
    private final int port;
    private final String base;
    /** The gateway's Prometheus scrape, for its own histogram of the open loop's polls; null: none read. */
    private final Supplier<String> scrape;

    BenchStatusReads(int port) {
        this(port, null);
    }

    BenchStatusReads(int port, Supplier<String> scrape) {
        this.port = port;
        this.base = "http://" + host + ":" + port;
        this.scrape = scrape;
    }

    /**
     * Each kind of read, {@code reads} times after {@code warmup} unmeasured ones, ids drawn with {@code seed}:
     * polls of waiting and of finished jobs, the queue, the first page of the list, its {@value #DEEP_PAGE}th page
     * (following {@code next}), and the first page of {@code SUCCEEDED} jobs.
     */
    Map<String, Object> measure(List<String> waiting, List<String> finished, int reads, int warmup, long seed,
            int threads) {
        Map<String, Function<SplittableRandom, String>> kinds = new LinkedHashMap<>();
        if (!waiting.isEmpty()) {
            kinds.put("pollWaiting", r -> "/v1/jobs/" + waiting.get(r.nextInt(waiting.size())));
        }
        if (!finished.isEmpty()) {
            kinds.put("pollFinished", r -> "/v1/jobs/" + finished.get(r.nextInt(finished.size())));
        }
        kinds.put("queue", r -> "/v1/queue");
        String first = "/v1/jobs?limit=" + PAGE_SIZE;
        kinds.put("listFirstPage", r -> first);
        String deep = pageLink(first, DEEP_PAGE);
        if (deep != null) {
            kinds.put("listPage" + DEEP_PAGE, r -> deep);
        }
        String succeeded = "/v1/jobs?state=SUCCEEDED&limit=" + PAGE_SIZE;
        kinds.put("listSucceeded", r -> succeeded);
        Map<String, Object> out = new LinkedHashMap<>();
        int k = 0;
        for (Map.Entry<String, Function<SplittableRandom, String>> kind : kinds.entrySet()) {
            k++;
            run(warmup, kind.getValue(), seed + 1000L * k, threads);
            Map<String, Object> m = run(reads, kind.getValue(), seed + 1000L * k + 500, threads);
            out.put(kind.getKey() + "Ms", m);
        }
        return out;
    }

    /**
     * {@code n} requests from {@code threads} threads, thread {@code t} drawing its paths with
     * {@code seed + t}, each on a kept-alive connection of its own ({@link BenchConnection}, a client light enough
     * not to take the cores the gateway is measured on); the latency of each {@code 200} (send to the whole body
     * read) and the other answers.
     */
    private Map<String, Object> run(int n, Function<SplittableRandom, String> path, long seed, int threads) {
        Tally tally = new Tally();
        AtomicInteger left = new AtomicInteger(n);
        parallel(threads, t -> {
            SplittableRandom random = new SplittableRandom(seed + t);
            try (BenchConnection connection = new BenchConnection(host, port, (int) TIMEOUT.toMillis())) {
                while (left.getAndDecrement() > 0) {
                    String p = path.apply(random);
                    tally.get(connection, p, System.nanoTime());
                }
            }
        });
        return tally.stats();
    }

    /**
     * Polls at a fixed rate, open loop, as a fleet's clients poll whatever the gateway's answers: {@code polls}
     * polls of waiting jobs, then as many of finished ones, at {@code perSecond}. Poll {@code i} is due at
     * {@code i / perSecond} after the start and goes out on the first of {@value #OPEN_LOOP_CONNECTIONS}
     * connections that is free; it is timed from when it was due, so a poll that waited for a connection counts
     * that wait (no coordinated omission). Ids are drawn with {@code seed}, in order, before the start.
     */
    Map<String, Object> atRate(List<String> waiting, List<String> finished, int polls, int perSecond, long seed) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (!waiting.isEmpty()) {
            out.put("pollWaitingMs", openLoop(polls, waiting, perSecond, seed + 1));
        }
        if (!finished.isEmpty()) {
            out.put("pollFinishedMs", openLoop(polls, finished, perSecond, seed + 2));
        }
        return out;
    }

    private Map<String, Object> openLoop(int n, List<String> ids, int perSecond, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        String[] paths = new String[n];
        for (int i = 0; i < n; i++) {
            paths[i] = "/v1/jobs/" + ids.get(random.nextInt(ids.size()));
        }
        Tally tally = new Tally();
        AtomicInteger next = new AtomicInteger();
        BenchServerHistogram serverBefore = serverHistogram();
        double intervalNanos = 1e9 / perSecond;
        long start = System.nanoTime() + 20_000_000L;
        parallel(OPEN_LOOP_CONNECTIONS, t -> {
            try (BenchConnection connection = new BenchConnection(host, port, (int) TIMEOUT.toMillis())) {
                for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                    long due = start + Math.round(i * intervalNanos);
                    for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                        LockSupport.parkNanos(wait);
                    }
                    tally.get(connection, paths[i], due);
                }
            }
        });
        double seconds = (System.nanoTime() - start) / 1e9;
        Map<String, Object> m = tally.stats();
        m.put("perSecond", perSecond);
        m.put("achievedPerSecond", LatencyStats.round(n / seconds));
        // From the send: without the time a poll waited for this client's thread (its wake-up on shared cores) or
        // a free connection; the gap between the two says how much of the tail is the client's.
        m.put("fromSendMs", tally.sentStats());
        BenchServerHistogram serverAfter = serverHistogram();
        if (serverBefore != null && serverAfter != null) {
            // As the gateway timed them (first filter to last), to a bucket's upper bound.
            BenchServerHistogram run = serverAfter.since(serverBefore);
            Map<String, Object> server = new LinkedHashMap<>();
            server.put("count", run.count());
            server.put("p50AtMost", finiteOrNull(run.quantileMs(0.5)));
            server.put("p99AtMost", finiteOrNull(run.quantileMs(0.99)));
            m.put("gatewayHistogramMs", server);
        }
        return m;
    }

    private static Double finiteOrNull(double ms) {
        return Double.isFinite(ms) ? LatencyStats.round(ms) : null;
    }

    /**
     * The answers of one measured run: the latency of each {@code 200} (from a given start to the whole body read)
     * and the count of every other status ({@code -1}: none came, and the connection is opened again).
     */
    private static final class Tally {

        private final Queue<Double> millis = new ConcurrentLinkedQueue<>();
        private final Queue<Double> sentMillis = new ConcurrentLinkedQueue<>();
        private final Map<String, Integer> others = new ConcurrentHashMap<>();

        /**
         * {@code GET path} on {@code connection}, timed from {@code fromNanos}, and apart from when it was sent (later
         * than {@code fromNanos} when this client's own thread woke late or the connection was busy).
         */
        void get(BenchConnection connection, String path, long fromNanos) {
            long sent = System.nanoTime();
            int status;
            try {
                status = connection.get(path);
            } catch (IOException e) {
                connection.close();
                status = -1;
            }
            long answered = System.nanoTime();
            if (status == 200) {
                millis.add((answered - fromNanos) / 1e6);
                sentMillis.add((answered - sent) / 1e6);
            } else {
                others.merge(String.valueOf(status), 1, Integer::sum);
            }
        }

        Map<String, Object> stats() {
            Map<String, Object> m = LatencyStats.of(millis);
            m.put("other", new TreeMap<>(others));
            return m;
        }

        /** The same answers timed from when each was sent. */
        Map<String, Object> sentStats() {
            return LatencyStats.of(sentMillis);
        }
    }

    /** The gateway's histogram of {@code GET /v1/jobs/{id}}; null without a scrape or when it fails. */
    private BenchServerHistogram serverHistogram() {
        if (scrape == null) {
            return null;
        }
        try {
            return BenchServerHistogram.read(scrape.get(), "/v1/jobs/{id}");
        } catch (UncheckedIOException e) {
            return null;
        }
    }

    /** The path of page {@code page} (from 1) of {@code first}'s list, or null when the list is shorter. */
    private String pageLink(String first, int page) {
        String path = first;
        for (int p = 1; p < page && path != null; p++) {
            HttpResponse<byte[]> r = get(path);
            JsonNode next = r == null || r.statusCode() != 200 ? null : Http.json(r).path("links").get("next");
            path = next == null ? null : next.asString();
        }
        return path;
    }

    /**
     * Each job as the gateway shows it now: the {@link #COMPARED} fields and the inference time, or the status of
     * an answer other than {@code 200}.
     */
    Map<String, JsonNode> snapshot(List<String> ids) {
        Map<String, JsonNode> shown = new ConcurrentHashMap<>();
        AtomicInteger next = new AtomicInteger();
        parallel(THREADS, t -> {
            for (int i = next.getAndIncrement(); i < ids.size(); i = next.getAndIncrement()) {
                shown.put(ids.get(i), shown(ids.get(i)));
            }
        });
        return shown;
    }

    private JsonNode shown(String id) {
        HttpResponse<byte[]> r = get("/v1/jobs/" + id);
        ObjectNode fields = JsonNodeFactory.instance.objectNode();
        if (r == null || r.statusCode() != 200) {
            fields.put("answer", status(r));
            return fields;
        }
        JsonNode job = Http.json(r);
        COMPARED.forEach(f -> fields.set(f, job.get(f)));
        fields.set("inferenceMs", job.path("timings").get("inferenceMs"));
        return fields;
    }

    /** How many of {@code before}'s jobs {@code after} shows otherwise, with up to 5 of them. */
    static Map<String, Object> compare(Map<String, JsonNode> before, Map<String, JsonNode> after) {
        List<String> examples = new ArrayList<>();
        int mismatches = 0;
        for (Map.Entry<String, JsonNode> e : before.entrySet()) {
            JsonNode now = after.get(e.getKey());
            if (!Objects.equals(e.getValue(), now)) {
                mismatches++;
                if (examples.size() < 5) {
                    examples.add(e.getKey() + ": before " + e.getValue() + ", after " + now);
                }
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("compared", before.size());
        m.put("mismatches", mismatches);
        m.put("examples", examples);
        return m;
    }

    /** Runs {@code body} on {@code count} threads (given their number) and waits for all of them. */
    private static void parallel(int count, IntConsumer body) {
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < count; t++) {
            int n = t;
            Thread thread = new Thread(() -> body.accept(n), "bench-status-" + t);
            thread.start();
            threads.add(thread);
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The answer, or null when none came (counted as status -1). */
    private HttpResponse<byte[]> get(String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static int status(HttpResponse<?> r) {
        return r == null ? -1 : r.statusCode();
    }
}
