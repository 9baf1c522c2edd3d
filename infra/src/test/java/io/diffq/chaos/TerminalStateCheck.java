package io.diffq.chaos;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Every accepted job reaches exactly one terminal state (none: lost), and every gateway shows that one: no
 * answer during the load showed another, and after quiescence each gateway's last answer shows it.
 */
final class TerminalStateCheck implements Check {

    static final int GATEWAYS = 2;

    @Override
    public void check(CheckInput in, List<Violation> out) {
        for (String id : in.topics().events().keySet()) {
            Set<JobState> terminals = in.topics().eventsOf(id).stream().map(JobEvent::state)
                    .filter(JobState::isTerminal).collect(Collectors.toCollection(TreeSet::new));
            if (terminals.size() > 1) {
                List<JobEvent> ends = in.topics().eventsOf(id).stream().filter(e -> e.state().isTerminal()).toList();
                out.add(new Violation(Violation.ONE_TERMINAL_STATE, id, "terminal events on diffq.job-events: "
                        + ends.stream().map(e -> e.state() + "@attempt" + e.attempt() + " by " + e.worker()).toList()));
            }
        }
        for (String id : in.acceptedJobs()) {
            Optional<JobEvent> terminal = in.topics().terminal(id);
            if (terminal.isEmpty()) {
                out.add(new Violation(Violation.LOST_JOB, id, "answered 2xx, no terminal event after quiescence; "
                        + "events: " + in.topics().eventsOf(id).stream().map(e -> e.state() + "/" + e.attempt())
                        .toList() + "; last answers: " + lastAnswers(in, id)));
                continue;
            }
            String expected = terminal.get().state().name();
            in.answered(id, Op.Kind.POLL, Op.LOAD)
                    .filter(op -> op.status() == 200 && isTerminal(op.state()) && !expected.equals(op.state()))
                    .findFirst().ifPresent(op -> out.add(new Violation(Violation.GATEWAYS_AGREE, id,
                            "gateway " + op.gateway() + " showed " + op.state() + " at " + op.endMs()
                                    + ", the topic's terminal state is " + expected)));
            for (int g = 0; g < GATEWAYS; g++) {
                int gateway = g;
                Optional<Op> last = in.answered(id, Op.Kind.POLL, Op.FINAL).filter(op -> op.gateway() == gateway)
                        .reduce((a, b) -> b);
                if (last.isEmpty() || last.get().status() != 200 || !expected.equals(last.get().state())) {
                    out.add(new Violation(Violation.GATEWAYS_AGREE, id, "after quiescence gateway " + g + " answered "
                            + last.map(op -> op.status() + " " + op.state()).orElse("nothing")
                            + ", the topic's terminal state is " + expected));
                }
            }
        }
    }

    private static boolean isTerminal(String state) {
        return state != null && JobState.valueOf(state).isTerminal();
    }

    private static List<String> lastAnswers(CheckInput in, String id) {
        return in.history().stream().filter(op -> id.equals(op.jobId()) && op.state() != null)
                .map(op -> "g" + op.gateway() + ":" + op.state()).toList();
    }
}
