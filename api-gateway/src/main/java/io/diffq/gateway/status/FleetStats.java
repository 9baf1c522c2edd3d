package io.diffq.gateway.status;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.common.metrics.MetricNames;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/**
 * What the fleet is doing, learned from the jobs' events as they happen (not from a replay at start-up): jobs
 * finished per second, overall and per model; the workers serving each model; the device time per job; and the
 * job latency metrics. The status view tells it; the queue's answers ({@code GET /v1/queue}, admission, backlog,
 * ETAs) read it.
 */
@Component
public class FleetStats {

    /** How recently a worker must have reported a job of a model to count as serving it. */
    static final Duration ACTIVE_WORKER_WINDOW = Duration.ofMinutes(5);

    private final Clock clock;
    private final MeterRegistry meters;
    private final Throughput throughput = new Throughput();
    private final Map<String, Throughput> throughputByModel = new ConcurrentHashMap<>();
    /** Per model, the workers that reported one of its jobs, and when they last did (epoch second). */
    private final Map<String, Map<String, Long>> workersByModel = new ConcurrentHashMap<>();
    private final ServiceTimes serviceTimes = new ServiceTimes();

    public FleetStats(Clock clock, MeterRegistry meters) {
        this.clock = clock;
        this.meters = meters;
    }

    /** Jobs finished per second over the last minute, by every worker. */
    public double recentThroughput() {
        return throughput.perSecond(clock.instant().getEpochSecond());
    }

    /** Jobs of {@code model} finished per second over the last minute, by every worker. */
    public double recentThroughput(String model) {
        Throughput t = throughputByModel.get(model);
        return t == null ? 0 : t.perSecond(clock.instant().getEpochSecond());
    }

    /** Workers that reported a job of {@code model} in the last five minutes. */
    public int activeWorkers(String model) {
        Map<String, Long> seen = workersByModel.get(model);
        if (seen == null) {
            return 0;
        }
        long since = clock.instant().getEpochSecond() - ACTIVE_WORKER_WINDOW.toSeconds();
        return (int) seen.values().stream().filter(at -> at >= since).count();
    }

    /**
     * The recent device time per job of {@code model}'s finished jobs, counting a batch's time once over its
     * jobs (see {@link ServiceTimes}); empty until a job of the model finished since this instance caught up.
     */
    public Optional<Duration> recentServiceTime(String model) {
        return serviceTimes.mean(model);
    }

    /** The models some worker reported or finished a job of. */
    public Set<String> models() {
        Set<String> models = new TreeSet<>(workersByModel.keySet());
        models.addAll(throughputByModel.keySet());
        return models;
    }

    /** A worker reported a job of the status's model ({@code event}, read at any time). */
    void reported(JobEvent event, JobStatus after) {
        if (event.worker() != null && after.model() != null) {
            long second = clock.instant().getEpochSecond();
            workersByModel.computeIfAbsent(after.model(), k -> new ConcurrentHashMap<>()).put(event.worker(),
                    Math.max(second, event.at() == null ? 0 : event.at().getEpochSecond()));
        }
    }

    /**
     * A job reached its terminal state {@code after} through {@code event}, as it happened (the view calls this only
     * once caught up). {@code cancelAskedAt}: when a client asked to cancel it, or {@code null}.
     */
    void finished(JobEvent event, JobStatus after, Instant cancelAskedAt) {
        long second = clock.instant().getEpochSecond();
        throughput.record(second);
        if (after.model() != null && event.worker() != null) {
            throughputByModel.computeIfAbsent(after.model(), k -> new Throughput()).record(second);
        }
        if (event.worker() != null) {
            serviceTimes.finished(event.worker(), after.model() == null ? "" : after.model(), event.startedAt(),
                    event.at());
        }
        if (after.state() == JobState.CANCELED && cancelAskedAt != null && after.finishedAt() != null) {
            Timer.builder(MetricNames.JOB_CANCEL_LATENCY)
                    .description("Time from a client's cancel to the job's CANCELED state")
                    .serviceLevelObjectives(MetricNames.JOB_LATENCY_BUCKETS.toArray(Duration[]::new))
                    .register(meters)
                    .record(Duration.between(cancelAskedAt, after.finishedAt()).abs());
        }
        Duration total = after.total(clock.instant());
        if (total != null) {
            Timer.builder(MetricNames.JOB_E2E)
                    .description("Job latency from acceptance to its terminal state, as the gateway sees it")
                    .tag(MetricNames.TAG_MODEL, after.model() == null ? "unknown" : after.model())
                    .tag(MetricNames.TAG_STATE, after.state().name())
                    .serviceLevelObjectives(MetricNames.JOB_LATENCY_BUCKETS.toArray(Duration[]::new))
                    .register(meters)
                    .record(total);
        }
    }

    /** Forgets workers not heard of for the active-worker window. */
    void forgetIdleWorkers() {
        long cutoff = clock.instant().minus(ACTIVE_WORKER_WINDOW).getEpochSecond();
        workersByModel.values().forEach(seen -> seen.values().removeIf(at -> at < cutoff));
    }
}
