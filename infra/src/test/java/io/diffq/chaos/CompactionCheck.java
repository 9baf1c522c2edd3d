package io.diffq.chaos;

import io.diffq.common.job.IllegalJobTransitionException;
import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobStatus;
import java.util.List;

/**
 * A gateway that reads {@code diffq.job-events} after compaction (a restarted one, or a new one) shows every job
 * as one that read every event: folding what compaction keeps of a job's events gives the state and attempt that
 * folding all of them gives. Late writes are where this can break: were an older attempt's late event the last
 * record of its key, compaction would keep it and drop the newer attempt's terminal event.
 */
final class CompactionCheck implements Check {

    @Override
    public void check(CheckInput in, List<Violation> out) {
        in.topics().written().forEach((id, all) -> {
            JobStatus full = fold(all);
            JobStatus kept = fold(in.topics().compacted().getOrDefault(id, List.of()));
            if (kept == null || kept.state() != full.state() || kept.attempt() != full.attempt()) {
                out.add(new Violation(Violation.COMPACTION, id, "all events fold to " + full.state() + "/attempt "
                        + full.attempt() + ", what compaction keeps ("
                        + in.topics().compacted().getOrDefault(id, List.of()).stream()
                                .map(e -> e.state() + "/" + e.attempt()).toList()
                        + ") to " + (kept == null ? "nothing" : kept.state() + "/attempt " + kept.attempt())));
            }
        });
    }

    /** As every reader folds a job's events: the first is a snapshot, each later one applied or refused. */
    private static JobStatus fold(List<JobEvent> events) {
        JobStatus s = null;
        for (JobEvent e : events) {
            if (s == null) {
                s = JobStatus.fromSnapshot(e);
                continue;
            }
            try {
                s = s.apply(e);
            } catch (IllegalJobTransitionException refused) {
                // kept as it was, as the readers do
            }
        }
        return s;
    }
}
