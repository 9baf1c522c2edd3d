package io.diffq.worker;

import io.diffq.common.model.Pool;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Settings of the worker, under {@code diffq.worker}.
 *
 * @param id               this worker's name in job events and client ids; defaults to host and process id
 * @param devices          {@code cpu}, {@code all} (every GPU) or a list of GPU indices such as {@code 0,2};
 *                         one consumer and one set of models per device
 * @param models           the models this worker loads, by provider name: {@code tiny} (the built-in model,
 *                         the default), {@code sd} (Stable Diffusion, see {@code stable-diffusion.model-dir}),
 *                         {@code simulated} (no network; load and fault tests of the queue)
 * @param progressInterval the least time between two progress events of one job
 * @param maxAttempts      deliveries a job gets (a worker lost mid-job, a retryable model failure) before it
 *                         ends FAILED and goes to the dead-letter topic
 * @param maxJobDuration   the longest a job may run; a longer one fails (with several consumers per device it
 *                         sizes their max.poll.interval.ms, so one waiting for the device's turn stays in the group)
 * @param shutdownGrace    on shutdown, how long the job in hand may take to finish before it is handed
 *                         back to the group
 * @param maxBatch         the most jobs a device acquires at once and its model draws as one batch; only jobs
 *                         waiting together with the same model, size, steps, scheduler and guidance scale share
 *                         a batch, and none waits for more to arrive. 1 (the default) draws every job alone: on
 *                         libtorch's CPU kernels a job's pixels can differ by one level in a few places with the
 *                         batch it ran in (docs/models.md, "Batching")
 * @param repeatWindow     a job record repeats an earlier record of its job id (concurrent submits with one
 *                         {@code Idempotency-Key}) when written at most this long after it; a repeat neither runs
 *                         nor writes a state. Concurrent submits store their records seconds apart at most (the
 *                         gateway's submit timeout and read-back), so the default of 2 minutes has a wide margin;
 *                         it must stay below the gateway's status retention, after which a key makes a new job.
 *                         Every worker keeps the first record of each job id of this window (and ten minutes
 *                         before its start) from {@code diffq.jobs}
 * @param consumersPerDevice share consumers per device, taking turns ({@code DeviceGate}): a consumer acquires
 *                         jobs only while the device is free, and with two one job's writes and acknowledgement
 *                         overlap the next job's acquisition and run instead of standing between them. 1 (the
 *                         default) until the benchmark has measured 2
 * @param pool             the worker pool this worker joins (docs/design/lanes.md §2): the workers serving the same
 *                         models; by default its models' names sorted and joined by '.' ({@code simulated.tiny})
 * @param source           where the worker takes jobs: {@code jobs} (the default: every worker shares
 *                         {@code diffq.jobs} in the share group {@code diffq-workers}, and must serve every model)
 *                         or {@code lanes} (its pool's lane {@code diffq.lane.<pool>} in the share group
 *                         {@code diffq-lanes}, which a dispatcher fills with the jobs of the pool's models)
 */
@ConfigurationProperties("diffq.worker")
public record WorkerProperties(
        String id,
        @DefaultValue("cpu") List<String> devices,
        @DefaultValue("tiny") List<String> models,
        @DefaultValue("500ms") Duration progressInterval,
        @DefaultValue("3") int maxAttempts,
        @DefaultValue("10m") Duration maxJobDuration,
        @DefaultValue("30s") Duration shutdownGrace,
        @DefaultValue("1") int maxBatch,
        @DefaultValue("2m") Duration repeatWindow,
        @DefaultValue("1") int consumersPerDevice,
        String pool,
        @DefaultValue("jobs") Source source) {

    /** Where a worker takes jobs from. */
    public enum Source {
        /** {@code diffq.jobs}, every worker of every model in one share group. */
        JOBS,
        /** Its pool's lane. */
        LANES
    }

    public WorkerProperties {
        if (maxBatch < 1 || maxBatch > 64) {
            throw new IllegalArgumentException("diffq.worker.max-batch must be 1 to 64, not " + maxBatch);
        }
        if (maxAttempts < 1 || maxAttempts > 6) {
            // The share group delivers a record max-attempts + 4 times at most, and brokers allow 10 by default.
            throw new IllegalArgumentException("diffq.worker.max-attempts must be 1 to 6, not " + maxAttempts);
        }
        if (consumersPerDevice < 1 || consumersPerDevice > 4) {
            throw new IllegalArgumentException("diffq.worker.consumers-per-device must be 1 to 4, not "
                    + consumersPerDevice);
        }
        if (models.isEmpty()) {
            throw new IllegalArgumentException("diffq.worker.models names no model");
        }
        pool = pool == null || pool.isBlank() ? Pool.defaultName(models) : pool;
        try {
            Pool.requireName(pool);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("diffq.worker.pool: " + e.getMessage(), e);
        }
        if (repeatWindow.compareTo(Duration.ofSeconds(30)) < 0 || repeatWindow.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("diffq.worker.repeat-window must be 30s to 1h, not " + repeatWindow);
        }
    }
}
