package io.diffq.chaos;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import java.util.List;
import java.util.Optional;

/**
 * No job runs more than {@code max-attempts} times, counted both by the attempt numbers its events carry (the
 * attempt past the bound only records {@code FAILED}) and by the model runs its events show, and
 * {@code diffq.jobs.dlt} holds exactly the jobs that ended {@code FAILED} (every failure in the campaign is
 * retryable or a lost worker, so each one is dead-lettered). A job handed back on shutdown runs again uncounted, so
 * the run count holds only where jobs finish within the shutdown grace, as the campaign's do.
 */
final class AttemptsCheck implements Check {

    @Override
    public void check(CheckInput in, List<Violation> out) {
        in.topics().events().forEach((id, events) -> {
            Optional<JobEvent> over = events.stream().filter(e -> e.attempt() > in.maxAttempts() && ran(e)).findFirst();
            // A run is one start of the model: a worker and the start time of its attempt, whatever number it carries.
            List<String> runs = events.stream().filter(e -> e.state() == JobState.RUNNING && e.progress() != null)
                    .map(e -> e.worker() + "@" + e.startedAt() + "/attempt " + e.attempt()).distinct().toList();
            if (over.isPresent()) {
                out.add(new Violation(Violation.ATTEMPTS, id, over.get().state() + " at attempt " + over.get().attempt()
                        + " (max-attempts " + in.maxAttempts() + ") by " + over.get().worker()));
            } else if (runs.size() > in.maxAttempts()) {
                out.add(new Violation(Violation.ATTEMPTS, id, runs.size() + " runs with max-attempts " + in.maxAttempts()
                        + ": " + runs));
            }
        });
        for (String id : in.topics().events().keySet()) {
            Optional<JobEvent> terminal = in.topics().terminal(id);
            boolean failed = terminal.isPresent() && terminal.get().state() == JobState.FAILED;
            if (failed && !in.topics().deadLettered().contains(id)) {
                out.add(new Violation(Violation.DEAD_LETTERS, id, "ended FAILED (" + terminal.get().failure()
                        + "), not on diffq.jobs.dlt"));
            }
        }
        for (String id : in.topics().deadLettered()) {
            Optional<JobEvent> terminal = in.topics().terminal(id);
            if (terminal.isEmpty() || terminal.get().state() != JobState.FAILED) {
                out.add(new Violation(Violation.DEAD_LETTERS, id, "on diffq.jobs.dlt, but ended "
                        + terminal.map(e -> e.state().name()).orElse("nowhere")));
            }
        }
    }

    /** Whether the event shows the model ran on this attempt (the attempt past the bound sends RUNNING without progress). */
    private static boolean ran(JobEvent e) {
        return switch (e.state()) {
            case RUNNING -> e.progress() != null;
            case SUCCEEDED, CANCELED -> true;
            default -> false;
        };
    }
}
