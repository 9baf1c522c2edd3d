package io.diffq.common.metrics;

import java.time.Duration;
import java.util.List;

/** Micrometer meter and tag names; Prometheus turns the dots into underscores. */
public final class MetricNames {

    public static final String JOBS_SUBMITTED = "diffq.jobs.submitted";
    public static final String JOBS_IN_STATE = "diffq.jobs.in.state";
    public static final String JOB_E2E = "diffq.job.e2e";
    public static final String JOB_QUEUE_WAIT = "diffq.job.queue.wait";
    public static final String JOB_INFERENCE = "diffq.job.inference";
    public static final String JOBS_COMPLETED = "diffq.jobs.completed";
    public static final String JOB_CANCEL_LATENCY = "diffq.job.cancel.latency";
    public static final String WORKER_IDLE_GAP = "diffq.worker.idle.gap";
    public static final String WORKER_BATCH_SIZE = "diffq.worker.batch.size";
    public static final String QUEUE_LAG_RECORDS = "diffq.queue.lag.records";
    public static final String QUEUE_OLDEST_WAIT = "diffq.queue.oldest.wait";
    /** Estimated worker-seconds of the jobs waiting: what the workers' autoscaler scales on. */
    public static final String QUEUE_BACKLOG = "diffq.queue.backlog.seconds";
    /** The backlog divided by the workers there are: how long the queue takes to drain at the current size. */
    public static final String QUEUE_DRAIN = "diffq.queue.drain.seconds";
    public static final String WORKERS = "diffq.workers";
    /** Per API key ({@link #TAG_KEY}): its jobs accepted and not yet started (the gateway's {@code max-waiting}). */
    public static final String TENANT_WAITING = "diffq.tenant.waiting";
    public static final String GPU_UTILIZATION = "diffq.gpu.utilization.percent";
    public static final String GPU_MEMORY_USED = "diffq.gpu.memory.used.bytes";
    public static final String GPU_MEMORY_TOTAL = "diffq.gpu.memory.total.bytes";
    public static final String GPU_TEMPERATURE = "diffq.gpu.temperature.celsius";
    public static final String GPU_POWER = "diffq.gpu.power.watts";
    public static final String WAITS_OPEN = "diffq.gateway.waits.open";
    public static final String STREAMS_OPEN = "diffq.gateway.streams.open";
    public static final String STREAMS_CLOSED = "diffq.gateway.streams.closed";
    /** Webhook delivery attempts, by {@code outcome} and {@code event} (the payload's type). */
    public static final String WEBHOOK_DELIVERIES = "diffq.webhook.deliveries";
    /** How long one webhook delivery attempt took, by {@code outcome} and {@code event}. */
    public static final String WEBHOOK_DELIVERY_DURATION = "diffq.webhook.delivery.duration";

    public static final String TAG_OUTCOME = "outcome";
    public static final String TAG_MODEL = "model";
    public static final String TAG_KEY = "key";
    public static final String TAG_STATE = "state";
    public static final String TAG_GPU = "gpu";
    public static final String TAG_TOPIC = "topic";
    public static final String TAG_PARTITION = "partition";
    public static final String TAG_REASON = "reason";
    public static final String TAG_EVENT = "event";

    /**
     * Histogram buckets of the job latencies (queue wait, inference, end to end): jobs take from tens of
     * milliseconds (the tiny model) to minutes (Stable Diffusion behind a backlog).
     */
    public static final List<Duration> JOB_LATENCY_BUCKETS = List.of(
            Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
            Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
            Duration.ofSeconds(15), Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(120),
            Duration.ofSeconds(300), Duration.ofSeconds(600));

    /**
     * Histogram buckets of a worker's idle gap between two jobs while work waits: what the queue costs a GPU
     * per job, from a millisecond to the seconds of a stall.
     */
    public static final List<Duration> IDLE_GAP_BUCKETS = List.of(
            Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
            Duration.ofMillis(20), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
            Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5));

    private MetricNames() {
    }
}
