package io.diffq.common.job;

import java.time.Instant;

/**
 * One change of a job, as written to {@code diffq.job-events} keyed by job id.
 *
 * @param jobId           the job
 * @param state           the state the job is in after this event
 * @param attempt         the delivery attempt, from 1; a redelivered job runs with a higher attempt
 * @param at              when it happened
 * @param startedAt       when the current attempt started, on events from a worker; with it each event is a
 *                        full snapshot, so a reader that sees only the last event of a job (the topic is
 *                        compacted) still knows the job's timings
 * @param worker          the worker that reports it, or {@code null} for the gateway
 * @param model           the model serving the job, or {@code null} when not known to the reporter
 * @param progress        denoising progress, on {@code RUNNING} events
 * @param inferenceMillis time spent in the model, on terminal events from a worker
 * @param failure         why, on {@code FAILED} (and on {@code CANCELED}/{@code EXPIRED} when known)
 * @param result          where the image lies, on {@code SUCCEEDED}
 */
public record JobEvent(
        String jobId,
        JobState state,
        int attempt,
        Instant at,
        Instant startedAt,
        String worker,
        String model,
        Progress progress,
        Long inferenceMillis,
        JobFailure failure,
        ResultRef result) {

    /** A worker started (or continues, with progress) an attempt. */
    public static JobEvent running(String jobId, int attempt, Instant startedAt, String worker, String model,
            Progress progress, Instant at) {
        return new JobEvent(jobId, JobState.RUNNING, attempt, at, startedAt, worker, model, progress, null, null,
                null);
    }

    /** A worker finished the job; its image lies at {@code result}. */
    public static JobEvent succeeded(String jobId, int attempt, Instant startedAt, String worker, String model,
            Progress progress, long inferenceMillis, ResultRef result, Instant at) {
        return new JobEvent(jobId, JobState.SUCCEEDED, attempt, at, startedAt, worker, model, progress,
                inferenceMillis, null, result);
    }

    /** The job failed for good. */
    public static JobEvent failed(String jobId, int attempt, Instant startedAt, String worker, String model,
            Progress progress, Long inferenceMillis, JobFailure failure, Instant at) {
        return new JobEvent(jobId, JobState.FAILED, attempt, at, startedAt, worker, model, progress, inferenceMillis,
                failure, null);
    }

    /** The job was canceled, before or while it ran. */
    public static JobEvent canceled(String jobId, int attempt, Instant startedAt, String worker, String model,
            Instant at) {
        return canceled(jobId, attempt, startedAt, worker, model, null, at);
    }

    /**
     * Canceled after {@code progress} (or {@code null}: before its first step); the event keeps how far the job
     * had come, which compaction would otherwise take with the events before it.
     */
    public static JobEvent canceled(String jobId, int attempt, Instant startedAt, String worker, String model,
            Progress progress, Instant at) {
        return new JobEvent(jobId, JobState.CANCELED, attempt, at, startedAt, worker, model, progress, null, null,
                null);
    }

    /** No worker started the job before its deadline. */
    public static JobEvent expired(String jobId, String worker, String model, Instant at) {
        return new JobEvent(jobId, JobState.EXPIRED, 0, at, null, worker, model, null, null,
                JobFailure.fatal("deadline-exceeded", "no worker started the job before its deadline"), null);
    }
}
