package io.diffq.worker.consumer;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobFailure;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobTransitions;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import java.time.Instant;

/**
 * The state events of one attempt of one job, made by verbs that each check their step against
 * {@code common}'s transition table ({@link JobTransitions#check}) before they make the event: an attempt that
 * would leave a terminal state, or end twice, throws instead of writing.
 */
final class AttemptEvents {

    private final String jobId;
    private final int attempt;
    private final Instant startedAt;
    private final String worker;
    private final String model;
    private JobState state = JobState.QUEUED;

    AttemptEvents(String jobId, int attempt, Instant startedAt, String worker, String model) {
        this.jobId = jobId;
        this.attempt = attempt;
        this.startedAt = startedAt;
        this.worker = worker;
        this.model = model;
    }

    JobState state() {
        return state;
    }

    /** Started, or still running with {@code progress}. */
    JobEvent running(Progress progress, Instant at) {
        move(JobState.RUNNING);
        return JobEvent.running(jobId, attempt, startedAt, worker, model, progress, at);
    }

    JobEvent succeeded(Progress progress, long inferenceMillis, ResultRef result, Instant at) {
        move(JobState.SUCCEEDED);
        return JobEvent.succeeded(jobId, attempt, startedAt, worker, model, progress, inferenceMillis, result, at);
    }

    JobEvent failed(Progress progress, Long inferenceMillis, JobFailure failure, Instant at) {
        move(JobState.FAILED);
        return JobEvent.failed(jobId, attempt, startedAt, worker, model, progress, inferenceMillis, failure, at);
    }

    /** Canceled after {@code progress}, or before any step ({@code null}). */
    JobEvent canceled(Progress progress, Instant at) {
        move(JobState.CANCELED);
        return JobEvent.canceled(jobId, attempt, startedAt, worker, model, progress, at);
    }

    /** Its deadline passed while it was queued: never started. */
    JobEvent expired(Instant at) {
        move(JobState.EXPIRED);
        return JobEvent.expired(jobId, worker, model, at);
    }

    private void move(JobState next) {
        JobTransitions.check(jobId, state, next);
        state = next;
    }
}
