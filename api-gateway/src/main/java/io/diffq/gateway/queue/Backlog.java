package io.diffq.gateway.queue;

import io.diffq.common.metrics.MetricNames;
import io.diffq.gateway.status.FleetStats;
import io.diffq.gateway.status.JobStatusView;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.springframework.stereotype.Component;

/**
 * The work waiting, in worker-seconds: {@code diffq.queue.backlog.seconds} = Σ over models of the jobs of the
 * model no worker has taken × the model's recent device time per job ({@link FleetStats#recentServiceTime},
 * which counts a batch's time once over its jobs), or its configured default until one of its jobs has
 * finished. What the workers' autoscaler scales on: records of lag count a 0.4 s job and a 20 s one alike.
 *
 * <p>Every gateway reads every job and event, so every instance exports the same value (within a scrape):
 * aggregate instances with {@code max}, never {@code sum}. The waiting jobs are counted in the status view,
 * so the value is there with no worker at all; a job costs at least {@value #FLOOR_MILLIS} ms in it, so it is
 * above 0 whenever a job waits (a scaler activating from zero on {@code > 0} wakes for it) and 0 when none does.
 *
 * <p>{@code diffq.queue.drain.seconds} is the backlog over the members of the worker share group (each consumes
 * on one device): how long the queue takes to empty at the current size if nothing more arrives. With jobs
 * waiting and no worker it is {@code +Inf}, never drained; with none waiting, 0.
 */
@Component
class Backlog {

    /** The least device time a waiting job counts for, so that a waiting job always shows. */
    static final long FLOOR_MILLIS = 1;

    private final JobStatusView view;
    private final FleetStats fleet;
    private final QueueMonitor monitor;
    private final BacklogProperties properties;

    Backlog(JobStatusView view, FleetStats fleet, QueueMonitor monitor, BacklogProperties properties, MeterRegistry meters) {
        this.view = view;
        this.fleet = fleet;
        this.monitor = monitor;
        this.properties = properties;
        Gauge.builder(MetricNames.QUEUE_BACKLOG, this, Backlog::seconds)
                .description("Estimated worker-seconds of the jobs waiting: per model, waiting jobs times the recent"
                        + " device time per job (a batch's time shared by its jobs), or the configured default")
                .baseUnit("seconds")
                .register(meters);
        Gauge.builder(MetricNames.QUEUE_DRAIN, this, Backlog::drainSeconds)
                .description("Backlog divided by the workers' consumers: time to empty the queue at the current"
                        + " size; +Inf while jobs wait and no worker is there")
                .baseUnit("seconds")
                .register(meters);
    }

    double seconds() {
        return seconds(view.queuedByModel(), fleet::recentServiceTime, properties);
    }

    double drainSeconds() {
        return drainSeconds(seconds(), monitor.snapshot().workers());
    }

    /**
     * @param queued   waiting jobs per model
     * @param measured each model's recent device time per job, empty when not measured yet
     */
    static double seconds(Map<String, Long> queued, Function<String, Optional<Duration>> measured,
            BacklogProperties properties) {
        double total = 0;
        for (Map.Entry<String, Long> e : queued.entrySet()) {
            Duration perJob = measured.apply(e.getKey()).orElseGet(() -> properties.defaultFor(e.getKey()));
            long nanos = Math.max(perJob.toNanos(), FLOOR_MILLIS * 1_000_000);
            total += e.getValue() * (nanos / 1e9);
        }
        return total;
    }

    static double drainSeconds(double backlog, int workers) {
        if (backlog <= 0) {
            return 0;
        }
        return workers == 0 ? Double.POSITIVE_INFINITY : backlog / workers;
    }
}
