package io.diffq.system;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The benchmark's HTTP client: submits simulated jobs to the gateway, closed-loop (each client waits for its
 * answer) or open-loop (sends on a fixed schedule whatever the answers do), and records every submit.
 */
final class BenchClient {

    /**
     * One submit: when it was due, how long until its answer (from when it was due), what came back, and the
     * job's seed (which, with the simulated model's latency spread, sets the job's time).
     */
    record Submit(Instant due, double latencyMs, int status, String id, Instant createdAt, long seed) {
        boolean accepted() {
            return status == 202;
        }
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final URI jobs;
    private final JobEventsTap tap;
    private final AtomicLong seq = new AtomicLong();

    BenchClient(int port, JobEventsTap tap) {
        this.jobs = URI.create("http://127.0.0.1:" + port + "/v1/jobs");
        this.tap = tap;
    }

    /** Submits one job now and waits for the answer. */
    Submit submit() {
        long n = seq.incrementAndGet();
        Instant due = Instant.now();
        long t0 = System.nanoTime();
        try {
            HttpResponse<byte[]> r = http.send(request(n, n), HttpResponse.BodyHandlers.ofByteArray());
            return answer(due, (System.nanoTime() - t0) / 1e6, r, n);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Submit(due, (System.nanoTime() - t0) / 1e6, -1, null, null, n);
        } catch (Exception e) {
            return new Submit(due, (System.nanoTime() - t0) / 1e6, -1, null, null, n);
        }
    }

    /** {@code jobs} submits from {@code threads} closed-loop clients, all at once. */
    List<Submit> burst(int jobs, int threads) {
        AtomicLong left = new AtomicLong(jobs);
        return closedLoop(threads, () -> left.getAndDecrement() > 0);
    }

    /** {@code threads} closed-loop clients submitting as fast as answers come, for {@code duration}. */
    List<Submit> flood(int threads, Duration duration) {
        long end = System.nanoTime() + duration.toNanos();
        return closedLoop(threads, () -> System.nanoTime() < end);
    }

    private List<Submit> closedLoop(int threads, java.util.function.BooleanSupplier more) {
        Queue<Submit> out = new ConcurrentLinkedQueue<>();
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> {
                while (more.getAsBoolean()) {
                    out.add(submit());
                }
            }, "bench-client-" + i);
            t.start();
            clients.add(t);
        }
        for (Thread t : clients) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return new ArrayList<>(out);
    }

    /**
     * Open loop: submit {@code i} is due at start + i / rate, for {@code duration}. Latency runs from the due
     * time, not from when the request went out, so a slow gateway cannot hide its slowness by delaying the
     * sends (no coordinated omission). At most {@code maxInFlight} requests are outstanding; past that the
     * sends wait, and the wait counts in their latency.
     */
    List<Submit> openLoop(double rate, Duration duration, int maxInFlight) {
        int total = (int) (rate * duration.toNanos() / 1e9);
        double[] dueMs = new double[total];
        for (int i = 0; i < total; i++) {
            dueMs[i] = i * 1e3 / rate;
        }
        return openLoop(dueMs, null, maxInFlight);
    }

    /**
     * Open loop on a schedule: submit {@code i} is due at start + {@code dueMs[i]} (increasing), with seed
     * {@code seeds[i]} ({@code seeds} null: the submit's sequence number, as every other submit); latency from
     * the due time, as above.
     */
    List<Submit> openLoop(double[] dueMs, long[] seeds, int maxInFlight) {
        Queue<Submit> out = new ConcurrentLinkedQueue<>();
        Semaphore inFlight = new Semaphore(maxInFlight);
        List<CompletableFuture<?>> pending = new ArrayList<>();
        long start = System.nanoTime();
        Instant startWall = Instant.now();
        for (int i = 0; i < dueMs.length; i++) {
            long dueNanos = start + (long) (dueMs[i] * 1e6);
            Instant due = startWall.plusNanos(dueNanos - start);
            sleepUntil(dueNanos);
            try {
                inFlight.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            long n = seq.incrementAndGet();
            long seed = seeds == null ? n : seeds[i];
            pending.add(http.sendAsync(request(n, seed), HttpResponse.BodyHandlers.ofByteArray()).handle((r, err) -> {
                double ms = (System.nanoTime() - dueNanos) / 1e6;
                out.add(err != null ? new Submit(due, ms, -1, null, null, seed) : answer(due, ms, r, seed));
                inFlight.release();
                return null;
            }));
        }
        try {
            CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
                    .get(TIMEOUT.toSeconds() + 10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // counted below: what did not answer is not in out
        }
        return new ArrayList<>(out);
    }

    private HttpRequest request(long n, long seed) {
        String body = "{\"prompt\":\"bench " + n + "\",\"model\":\"simulated\",\"width\":8,\"height\":8,\"steps\":1,"
                + "\"seed\":" + seed + "}";
        return HttpRequest.newBuilder(jobs).timeout(TIMEOUT).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private Submit answer(Instant due, double ms, HttpResponse<byte[]> r, long seed) {
        if (r.statusCode() != 202) {
            return new Submit(due, ms, r.statusCode(), null, null, seed);
        }
        JsonNode body = JSON.readTree(r.body());
        String id = body.get("id").asString();
        Instant created = Instant.parse(body.get("createdAt").asString());
        tap.trace(id).createdAt = created;
        return new Submit(due, ms, 202, id, created, seed);
    }

    private static void sleepUntil(long nanoTime) {
        long d = nanoTime - System.nanoTime();
        if (d > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(d);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
