package io.diffq.chaos;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/** What the checker reads: the history every client saw, the topics after quiescence, and the attempt bound. */
record CheckInput(List<Op> history, TopicContents topics, int maxAttempts) {

    /** Every job a submit was answered {@code 202} (or {@code 200}) for, in the order they were first answered. */
    Set<String> acceptedJobs() {
        Set<String> ids = new LinkedHashSet<>();
        history.stream().filter(Op::accepted).forEach(op -> ids.add(op.jobId()));
        return ids;
    }

    Stream<Op> ops(Op.Kind kind) {
        return history.stream().filter(op -> op.kind() == kind);
    }

    /** Answered ops of one job. */
    Stream<Op> answered(String jobId, Op.Kind kind, String phase) {
        return ops(kind).filter(op -> jobId.equals(op.jobId()) && phase.equals(op.phase())
                && op.outcome() == Op.Outcome.ANSWERED);
    }
}
