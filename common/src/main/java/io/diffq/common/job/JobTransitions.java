package io.diffq.common.job;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The one table of legal state changes. {@code RUNNING -> RUNNING} is legal only as a progress report
 * within the same attempt or as a redelivery with a higher attempt; {@link JobStatus} checks the attempt.
 */
public final class JobTransitions {

    private static final Map<JobState, Set<JobState>> ALLOWED = new EnumMap<>(JobState.class);

    static {
        ALLOWED.put(JobState.QUEUED, EnumSet.of(JobState.RUNNING, JobState.CANCELED, JobState.EXPIRED));
        ALLOWED.put(JobState.RUNNING,
                EnumSet.of(JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED));
        for (JobState s : JobState.values()) {
            if (s.isTerminal()) {
                ALLOWED.put(s, EnumSet.noneOf(JobState.class));
            }
        }
    }

    private JobTransitions() {
    }

    /** Whether a job may move from {@code from} to {@code to}. */
    public static boolean isAllowed(JobState from, JobState to) {
        return ALLOWED.get(from).contains(to);
    }

    /** Throws {@link IllegalJobTransitionException} unless the move is in the table. */
    public static void check(String jobId, JobState from, JobState to) {
        if (!isAllowed(from, to)) {
            throw new IllegalJobTransitionException(jobId, from, to, "not in the transition table");
        }
    }
}
