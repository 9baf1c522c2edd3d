package io.diffq.gateway.webhooks;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.Executor;

/**
 * Runs tasks on a shared executor with at most {@code perHost} running per receiver host at once; the rest of a
 * host's tasks wait their turn in order. One slow receiver then holds a few of the delivery threads, never all.
 */
final class HostLanes {

    private final Executor executor;
    private final int perHost;
    private final Map<String, Lane> lanes = new HashMap<>();

    HostLanes(Executor executor, int perHost) {
        this.executor = executor;
        this.perHost = perHost;
    }

    /** One host's tasks: how many run, and those waiting for a turn. */
    private static final class Lane {
        int running;
        final Queue<Runnable> waiting = new ArrayDeque<>();
    }

    synchronized void submit(String host, Runnable task) {
        Lane lane = lanes.computeIfAbsent(host, h -> new Lane());
        if (lane.running < perHost) {
            lane.running++;
            executor.execute(wrap(host, task));
        } else {
            lane.waiting.add(task);
        }
    }

    private Runnable wrap(String host, Runnable task) {
        return () -> {
            try {
                task.run();
            } finally {
                done(host);
            }
        };
    }

    private synchronized void done(String host) {
        Lane lane = lanes.get(host);
        Runnable next = lane.waiting.poll();
        if (next != null) {
            executor.execute(wrap(host, next));
        } else if (--lane.running == 0) {
            lanes.remove(host);
        }
    }
}
