package io.diffq.common.job;

import java.time.Duration;
import java.time.Instant;

/**
 * What is known of one job, folded from its request and its events, read in any order between the two
 * topics. Immutable: every change returns a new status, and only through {@link #apply(JobEvent)}, which
 * checks {@link JobTransitions}.
 *
 * @param id              the job id
 * @param request         the request, or {@code null} while only events have been seen
 * @param state           the current state
 * @param attempt         the current attempt (0 while queued)
 * @param progress        the latest progress, or {@code null}
 * @param worker          the worker running or having run it, or {@code null}
 * @param model           the model serving it
 * @param startedAt       when the current attempt started, or {@code null}
 * @param finishedAt      when it reached a terminal state, or {@code null}
 * @param inferenceMillis time in the model, once finished by a worker
 * @param failure         the failure, when it failed
 * @param result          where its image lies, when it succeeded
 */
public record JobStatus(
        String id,
        JobRequest request,
        JobState state,
        int attempt,
        Progress progress,
        String worker,
        String model,
        Instant startedAt,
        Instant finishedAt,
        Long inferenceMillis,
        JobFailure failure,
        ResultRef result) {

    /** The status of a job just accepted. */
    public static JobStatus queued(JobRequest request) {
        return new JobStatus(request.id(), request, JobState.QUEUED, 0, null, null, request.model(), null, null,
                null, null, null);
    }

    /**
     * The status of a job first seen through an event: its request was not read yet, or the reader joins
     * its history mid-way because the compacted events topic kept only the latest event. Every event is a
     * snapshot of the job, so no transition is checked here.
     */
    public static JobStatus fromSnapshot(JobEvent event) {
        return new JobStatus(event.jobId(), null, event.state(), event.attempt(), event.progress(), event.worker(),
                event.model(), event.startedAt(), event.state().isTerminal() ? event.at() : null,
                event.inferenceMillis(), event.failure(), event.result());
    }

    /** Attaches the request read after some events; the state is not changed by it. */
    public JobStatus withRequest(JobRequest r) {
        return new JobStatus(id, r, state, attempt, progress, worker, model == null ? r.model() : model, startedAt,
                finishedAt, inferenceMillis, failure, result);
    }

    /**
     * The status after {@code event}, the next one read from {@code diffq.job-events}. The topic is compacted,
     * so the events between this status and {@code event} may be gone: a state the table reaches from here is
     * taken, as every event is a snapshot of its job (a job read as {@code QUEUED}, then its lone
     * {@code SUCCEEDED}, succeeded).
     *
     * @throws IllegalJobTransitionException when {@code event} contradicts this status: it leaves a terminal
     *         state, returns to {@code QUEUED}, or reports an older attempt (running or ended) than the one
     *         running
     */
    public JobStatus apply(JobEvent event) {
        if (!event.jobId().equals(id)) {
            throw new IllegalArgumentException("event for " + event.jobId() + " applied to " + id);
        }
        JobTransitions.checkReachable(id, state, event.state());
        if (state == JobState.RUNNING && event.attempt() < attempt) {
            // A worker that lost the job (paused past its lock) and wrote late: the newer attempt's state stands.
            throw new IllegalJobTransitionException(id, state, event.state(),
                    "attempt " + event.attempt() + " after attempt " + attempt);
        }
        String m = event.model() != null ? event.model() : model;
        String w = event.worker() != null ? event.worker() : worker;
        int a = Math.max(attempt, event.attempt());
        if (event.state() == JobState.RUNNING) {
            return new JobStatus(id, request, JobState.RUNNING, a, event.progress(), w, m,
                    event.startedAt() != null ? event.startedAt() : event.at(), null, null, null, null);
        }
        // Nothing reaches QUEUED, so what was let through besides RUNNING is terminal.
        Instant started = event.startedAt() != null ? event.startedAt() : startedAt;
        Progress p = event.progress() != null ? event.progress() : progress;
        return new JobStatus(id, request, event.state(), a, p, w, m, started, event.at(), event.inferenceMillis(),
                event.failure(), event.result());
    }

    /** Time from acceptance until a worker started it (or until now, while queued), when known. */
    public Duration queueWait(Instant now) {
        if (request == null) {
            return null;
        }
        Instant end = startedAt != null ? startedAt : (finishedAt != null ? finishedAt : now);
        return Duration.between(request.createdAt(), end);
    }

    /** Time from acceptance until the terminal state (or until now), when known. */
    public Duration total(Instant now) {
        if (request == null) {
            return null;
        }
        return Duration.between(request.createdAt(), finishedAt != null ? finishedAt : now);
    }
}
