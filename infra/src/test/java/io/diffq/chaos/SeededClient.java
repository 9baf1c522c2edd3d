package io.diffq.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * One client of the campaign: submits (plain, with an {@code Idempotency-Key}, the same key sent concurrently
 * with the same and with a different body, with deadlines, with {@code Prefer: wait}), polls on both gateways,
 * cancels recent jobs (queued or running), fetches images. Every choice comes from its own seeded random.
 */
final class SeededClient {

    private final int id;
    private final long seed;
    private final SplittableRandom random;
    private final RecordingClient http;
    private final JobBook book;
    private final ExecutorService concurrent;
    private final String apiKey;
    private int submits;

    SeededClient(int id, long seed, SplittableRandom random, RecordingClient http, JobBook book,
            ExecutorService concurrent) {
        this.id = id;
        this.seed = seed;
        this.random = random;
        this.http = http;
        this.book = book;
        this.concurrent = concurrent;
        this.apiKey = id % 2 == 0 ? "client-a" : "client-b";
    }

    void runUntil(long untilMs) {
        while (System.currentTimeMillis() < untilMs && !Thread.currentThread().isInterrupted()) {
            step();
            pause(random.nextInt(100, 700));
        }
    }

    private void step() {
        double r = random.nextDouble();
        if (r < 0.22) {
            submit(null);
        } else if (r < 0.28) {
            submit("k-" + seed + "-" + id + "-" + submits);
        } else if (r < 0.32) {
            concurrentKey();
        } else if (r < 0.64) {
            JobBook.Job job = book.any(random);
            if (job != null) {
                Op op = http.poll(id, Op.LOAD, gateway(), job.apiKey(), job.id());
                if ("SUCCEEDED".equals(op.state())) {
                    book.succeeded(job.id(), job.apiKey());
                }
            }
        } else if (r < 0.74) {
            JobBook.Job job = book.recent(random);
            if (job != null) {
                http.cancel(id, Op.LOAD, gateway(), job.apiKey(), job.id());
            }
        } else if (r < 0.96) {
            JobBook.Job job = book.finished(random);
            if (job != null) {
                http.image(id, Op.LOAD, gateway(), job.apiKey(), job.id());
            }
        } else {
            // An id no job has: 404, or 503 while the gateway cannot read the topics to be sure.
            http.poll(id, Op.LOAD, gateway(), apiKey, new UUID(random.nextLong(), random.nextLong()).toString());
        }
    }

    private void submit(String idempotencyKey) {
        String prompt = prompt();
        int wait = random.nextInt(100) < 15 ? random.nextInt(1, 9) : 0;
        Op op = http.submit(id, Op.LOAD, gateway(), apiKey, idempotencyKey, prompt, body(prompt), wait);
        remember(op);
        if (idempotencyKey != null && op.accepted() && random.nextInt(100) < 40) {
            remember(http.submit(id, Op.LOAD, gateway(), apiKey, idempotencyKey, prompt, body(prompt), 0));
        }
    }

    /** Two to four submits with one key at once, on both gateways, some with another body. */
    private void concurrentKey() {
        String key = "shared-" + seed + "-" + id + "-" + submits;
        String prompt = prompt();
        String other = prompt + " (another body)";
        int n = random.nextInt(2, 5);
        List<Future<Op>> sent = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String p = random.nextInt(100) < 30 ? other : prompt;
            String body = body(p);
            int g = gateway();
            sent.add(concurrent.submit(() -> http.submit(id, Op.LOAD, g, apiKey, key, p, body, 0)));
        }
        for (Future<Op> f : sent) {
            try {
                remember(f.get());
            } catch (Exception e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void remember(Op op) {
        if (op.accepted()) {
            book.accepted(op.jobId(), apiKey);
        }
    }

    private String prompt() {
        submits++;
        String fail = random.nextInt(100) < 5 ? " " + ChaosCluster.FAIL_MARK : "";
        return "chaos " + seed + "/" + id + "/" + submits + fail;
    }

    /** The same prompt always gives the same body, so that a replay is identical. */
    private String body(String prompt) {
        int h = prompt.hashCode();
        int size = (h & 1) == 0 ? 8 : 16;
        int steps = 1 + Math.floorMod(h >> 1, 20);
        String deadline = Math.floorMod(h >> 6, 5) == 0 ? ",\"deadlineSeconds\":" + (1 + Math.floorMod(h >> 9, 8)) : "";
        return "{\"prompt\":\"" + prompt + "\",\"model\":\"simulated\",\"width\":" + size + ",\"height\":" + size
                + ",\"steps\":" + steps + ",\"seed\":" + Math.floorMod(h, 100_000) + deadline + "}";
    }

    private int gateway() {
        return random.nextInt(2);
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
