package io.diffq.worker.consumer;

import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.metrics.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import org.springframework.stereotype.Component;

/** The worker's job meters: queue wait, idle gap, inference time, end-to-end latency and completions. */
@Component
class JobMetrics {

    private static final Duration[] BUCKETS = MetricNames.JOB_LATENCY_BUCKETS.toArray(Duration[]::new);
    private static final Duration[] IDLE_GAP_BUCKETS = MetricNames.IDLE_GAP_BUCKETS.toArray(Duration[]::new);

    private final MeterRegistry meters;
    private final Clock clock;

    JobMetrics(MeterRegistry meters, Clock clock) {
        this.meters = meters;
        this.clock = clock;
    }

    /** A worker starts the job: how long it waited since the gateway accepted it. */
    void started(JobRequest request) {
        timer(MetricNames.JOB_QUEUE_WAIT, "Time from acceptance until a worker starts the job")
                .tag(MetricNames.TAG_MODEL, request.model())
                .register(meters)
                .record(since(request));
    }

    /**
     * A device's model starts a job that was already waiting when the device's previous model run ended: the
     * time the device sat between the two, which is the queue's cost to a busy GPU.
     */
    void idleGap(String device, Duration gap) {
        Timer.builder(MetricNames.WORKER_IDLE_GAP)
                .description("Time a device waits between two jobs while the next one is already queued")
                .serviceLevelObjectives(IDLE_GAP_BUCKETS)
                .tag(MetricNames.TAG_GPU, device)
                .register(meters)
                .record(gap.isNegative() ? Duration.ZERO : gap);
    }

    /** Time the model took on {@code device}. */
    void inference(String model, String device, long nanos) {
        timer(MetricNames.JOB_INFERENCE, "Time in the model")
                .tag(MetricNames.TAG_MODEL, model)
                .tag(MetricNames.TAG_GPU, device)
                .register(meters)
                .record(Duration.ofNanos(nanos));
    }

    /** A device's model ran this many jobs as one batch. */
    void batch(String device, int jobs) {
        DistributionSummary.builder(MetricNames.WORKER_BATCH_SIZE)
                .description("Jobs a device's model ran as one batch")
                .serviceLevelObjectives(1, 2, 4, 8, 16, 32)
                .tag(MetricNames.TAG_GPU, device)
                .register(meters)
                .record(jobs);
    }

    /** The job reached a terminal state here. */
    void finished(JobRequest request, JobState state) {
        timer(MetricNames.JOB_E2E, "Job latency from acceptance to its terminal state")
                .tag(MetricNames.TAG_MODEL, request.model())
                .tag(MetricNames.TAG_STATE, state.name())
                .register(meters)
                .record(since(request));
        Counter.builder(MetricNames.JOBS_COMPLETED)
                .description("Jobs that reached a terminal state on this worker")
                .tag(MetricNames.TAG_MODEL, request.model())
                .tag(MetricNames.TAG_STATE, state.name())
                .register(meters)
                .increment();
    }

    private Duration since(JobRequest request) {
        Duration d = Duration.between(request.createdAt(), clock.instant());
        return d.isNegative() ? Duration.ZERO : d;
    }

    private static Timer.Builder timer(String name, String description) {
        return Timer.builder(name).description(description).serviceLevelObjectives(BUCKETS);
    }
}
