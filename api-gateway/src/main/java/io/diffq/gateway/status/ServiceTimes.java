package io.diffq.gateway.status;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Recent worker time per job, per model: the mean over each model's last {@value #WINDOW} finished jobs of the
 * device time each one cost, measured from the jobs' terminal events (their {@code startedAt} and {@code at}
 * and the worker device that reports them).
 *
 * <p>A job's cost is not its own duration: a worker draws up to {@code max-batch} jobs as one batch, and a batch
 * of 4 that takes 2 s costs 0.5 s of the device per job, not 2 s. The events carry no batch size, but the
 * jobs of a batch run on one device over overlapping intervals (each delivery starts just before its batch's
 * model runs, and ends after it), while a device runs one batch at a time. So each device's busy time is the
 * <em>union</em> of its jobs' intervals, and a job costs the part of its interval that no job of the same device
 * covered before it: the first event of a batch to arrive brings the batch's whole time, the others what
 * their own interval adds (nearly nothing), and their mean over a window is the batch's time over its jobs.
 * Events arrive in any order (one job's events share a partition; a batch spans several), which the union does
 * not mind. This counts time between a job's start and its end on the device; the round trips the worker's
 * loop spends between batches (the poll, the commit that counts the delivery) are not in it, a few
 * milliseconds a batch.
 *
 * <p>A job that ends without its model (expired, canceled while waiting, out of attempts) costs about nothing,
 * and counts so: jobs like it in the backlog cost about nothing too. A retried attempt that failed in its
 * model writes no event and is not counted, so a model that keeps failing looks cheaper than it is. A
 * window of jobs rather than of time: a model that ran an hour ago is best estimated by what it cost then.
 * The window cuts batches at its edge, an error of at most one batch's jobs out of {@value #WINDOW}.
 *
 * <p>Fed by the status view's thread, read by metric scrapes: its two methods hold its lock.
 */
final class ServiceTimes {

    /** Jobs per model that the mean is taken over. */
    static final int WINDOW = 64;
    /** Devices remembered (workers come and go; the least recently seen is forgotten first). */
    private static final int DEVICES = 4096;
    /**
     * Busy intervals remembered per device: a job whose interval ended before all of them arrives this late
     * only if this many batches of its device finished in between, and then counts its whole interval.
     */
    private static final int INTERVALS = 32;

    private final Map<String, Busy> devices = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Busy> eldest) {
            return size() > DEVICES;
        }
    };
    private final Map<String, Window> models = new HashMap<>();

    /**
     * Counts one job that {@code device} finished.
     *
     * @param startedAt when its attempt started on the device, or {@code null} when it never started (expired)
     * @param endedAt   when it ended
     */
    synchronized void finished(String device, String model, Instant startedAt, Instant endedAt) {
        long cost = 0;
        if (startedAt != null && endedAt != null && endedAt.isAfter(startedAt)) {
            cost = devices.computeIfAbsent(device, d -> new Busy()).add(nanos(startedAt), nanos(endedAt));
        }
        models.computeIfAbsent(model, m -> new Window()).add(cost);
    }

    /** The mean device time per job of the model's recent jobs; empty while none finished. */
    synchronized Optional<Duration> mean(String model) {
        Window w = models.get(model);
        return w == null ? Optional.empty() : Optional.of(Duration.ofNanos(w.mean()));
    }

    private static long nanos(Instant t) {
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    /** One device's recent busy time: disjoint intervals, by start. */
    private static final class Busy {

        private final TreeMap<Long, Long> intervals = new TreeMap<>();

        /** Adds {@code [start, end)}; returns how much of it no interval held before. */
        long add(long start, long end) {
            long overlap = 0;
            long from = start;
            long to = end;
            Long before = intervals.floorKey(start);
            Long first = before != null && intervals.get(before) >= start ? before : Long.valueOf(start);
            var touching = intervals.subMap(first, true, end, true).entrySet().iterator();
            while (touching.hasNext()) {
                var i = touching.next();
                overlap += Math.max(0, Math.min(end, i.getValue()) - Math.max(start, i.getKey()));
                from = Math.min(from, i.getKey());
                to = Math.max(to, i.getValue());
                touching.remove();
            }
            intervals.put(from, to);
            while (intervals.size() > INTERVALS) {
                intervals.pollFirstEntry();
            }
            return end - start - overlap;
        }
    }

    /** The last {@link #WINDOW} costs of one model. */
    private static final class Window {

        private final long[] costs = new long[WINDOW];
        private int count;
        private int next;
        private long sum;

        void add(long cost) {
            sum += cost - costs[next];
            costs[next] = cost;
            next = (next + 1) % WINDOW;
            count = Math.min(count + 1, WINDOW);
        }

        long mean() {
            return sum / count;
        }
    }
}
