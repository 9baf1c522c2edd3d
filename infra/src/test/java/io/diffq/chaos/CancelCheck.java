package io.diffq.chaos;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import java.util.List;
import java.util.Optional;

/**
 * A job whose cancel was answered {@code 202} before any worker reported it {@code RUNNING} never runs: it ends
 * {@code CANCELED} (or {@code EXPIRED}), never with the model's outcome ({@code SUCCEEDED}, {@code FAILED}).
 */
final class CancelCheck implements Check {

    @Override
    public void check(CheckInput in, List<Violation> out) {
        in.ops(Op.Kind.CANCEL).filter(op -> op.outcome() == Op.Outcome.ANSWERED && op.status() == 202)
                .forEach(cancel -> {
                    String id = cancel.jobId();
                    Optional<JobEvent> running = in.topics().firstRunning(id);
                    boolean queuedWhenAnswered = running.isEmpty() || running.get().at().toEpochMilli() > cancel.endMs();
                    Optional<JobEvent> terminal = in.topics().terminal(id);
                    if (queuedWhenAnswered && terminal.isPresent()
                            && (terminal.get().state() == JobState.SUCCEEDED || terminal.get().state() == JobState.FAILED)) {
                        out.add(new Violation(Violation.CANCELED_QUEUED_RAN, id, "cancel answered 202 at "
                                + cancel.endMs() + " (gateway " + cancel.gateway() + "), first RUNNING at "
                                + running.map(e -> String.valueOf(e.at().toEpochMilli())).orElse("never")
                                + ", ended " + terminal.get().state() + " at " + terminal.get().at().toEpochMilli()));
                    }
                });
    }

    /** Jobs canceled while queued that a worker still started (then stopped): a race the promise allows, counted. */
    static long startedAfterCancel(CheckInput in) {
        return in.ops(Op.Kind.CANCEL).filter(op -> op.outcome() == Op.Outcome.ANSWERED && op.status() == 202)
                .filter(op -> in.topics().firstRunning(op.jobId())
                        .map(e -> e.at().toEpochMilli() > op.endMs()).orElse(false))
                .map(Op::jobId).distinct().count();
    }
}
