package io.diffq.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The seeded clients: each draws its every choice from its own split of the seed (what to do, which gateway,
 * which job, which body) and records every request in the history. See docs/testing.md, "Fault campaign".
 */
final class Workload {

    private final long seed;
    private final int clients;
    private final RecordingClient http;
    private final JobBook book = new JobBook();

    Workload(long seed, int clients, RecordingClient http) {
        this.seed = seed;
        this.clients = clients;
        this.http = http;
    }

    JobBook book() {
        return book;
    }

    /** Runs every client until {@code untilMs} (epoch), then returns. */
    void run(long untilMs) throws Exception {
        List<SplittableRandom> draws = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            draws.add(Seeds.stream(seed, "client-" + c));
        }
        ExecutorService pool = Executors.newFixedThreadPool(clients * 3);
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                SeededClient client = new SeededClient(c, seed, draws.get(c), http, book, pool);
                running.add(pool.submit(() -> client.runUntil(untilMs)));
            }
            for (Future<?> f : running) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
