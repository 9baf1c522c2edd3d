package io.diffq.chaos;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobTransitions;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * States per job follow the transition table in the order they were seen: on {@code diffq.job-events} (after a
 * terminal event only a redelivery's higher attempt may write again, and its events follow the table; an older
 * attempt's late write is not part of that order, see {@link TopicContents#lateWrites()}), and on each
 * gateway for every two answers that real time orders (the first answered before the second was sent), the second a
 * state the table reaches from the first.
 */
final class TransitionOrderCheck implements Check {

    @Override
    public void check(CheckInput in, List<Violation> out) {
        in.topics().events().forEach((id, events) -> checkTopic(id, events, out));
        Map<String, List<Op>> seen = in.history().stream()
                .filter(op -> op.outcome() == Op.Outcome.ANSWERED && op.state() != null && op.jobId() != null)
                .collect(Collectors.groupingBy(op -> op.gateway() + "/" + op.jobId()));
        seen.values().forEach(ops -> checkGateway(ops, out));
    }

    private static void checkTopic(String id, List<JobEvent> events, List<Violation> out) {
        JobEvent last = null;
        JobState state = JobState.QUEUED;
        int attempt = 0;
        for (JobEvent e : events) {
            if (state.isTerminal()) {
                // At least once: a worker lost after the terminal event left but before its commit runs the job
                // again, under a higher attempt, whose own events then follow the table as a redelivered run's.
                if (e.attempt() <= attempt) {
                    // The same attempt again after its own terminal event (an older one is a late write).
                    out.add(new Violation(Violation.TRANSITION_ORDER, id, "diffq.job-events: " + describe(e)
                            + " after the terminal " + describe(last)));
                    return;
                }
                state = JobState.RUNNING;
            }
            if (!legal(state, attempt, e.state(), e.attempt())) {
                out.add(new Violation(Violation.TRANSITION_ORDER, id, "diffq.job-events: "
                        + (last == null ? "QUEUED" : describe(last)) + " -> " + describe(e)));
                return;
            }
            state = e.state();
            attempt = Math.max(attempt, e.attempt());
            last = e;
        }
    }

    private static String describe(JobEvent e) {
        return e.state() + "/attempt " + e.attempt() + " by " + e.worker() + " at " + e.at();
    }

    private static void checkGateway(List<Op> ops, List<Violation> out) {
        List<Op> sorted = ops.stream().sorted(Comparator.comparingLong(Op::startMs)).toList();
        for (int i = 0; i < sorted.size(); i++) {
            for (int j = i + 1; j < sorted.size(); j++) {
                Op a = sorted.get(i);
                Op b = sorted.get(j);
                if (!a.before(b)) {
                    continue;
                }
                JobState from = JobState.valueOf(a.state());
                JobState to = JobState.valueOf(b.state());
                if (!reachable(from, a.attempt(), to, b.attempt())) {
                    out.add(new Violation(Violation.TRANSITION_ORDER, a.jobId(), "gateway " + a.gateway() + " showed "
                            + from + "/attempt " + a.attempt() + " (answered " + a.endMs() + "), then " + to
                            + "/attempt " + b.attempt() + " (sent " + b.startMs() + ")"));
                    return;
                }
            }
        }
    }

    /** Whether a later snapshot may show {@code to}: polls see states, not every step between them. */
    private static boolean reachable(JobState from, int fromAttempt, JobState to, int toAttempt) {
        return switch (from) {
            case QUEUED -> true;
            case RUNNING -> to == JobState.RUNNING ? toAttempt >= fromAttempt
                    : to != JobState.QUEUED && to != JobState.EXPIRED;
            default -> to == from;
        };
    }

    private static boolean legal(JobState from, int fromAttempt, JobState to, int toAttempt) {
        if (from == JobState.RUNNING && to == JobState.RUNNING) {
            return toAttempt >= fromAttempt;
        }
        return JobTransitions.isAllowed(from, to);
    }
}
