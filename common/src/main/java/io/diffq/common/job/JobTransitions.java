package io.diffq.common.job;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The one table of legal state changes. A writer moves a job one step at a time and {@link #check checks}
 * each step; a reader of the compacted {@code diffq.job-events} may miss the steps in between, so it
 * {@link #checkReachable accepts} any state the table reaches in several steps. {@code RUNNING -> RUNNING} is
 * legal only as a progress report within the same attempt or as a redelivery with a higher attempt;
 * {@link JobStatus} checks the attempt.
 */
public final class JobTransitions {

    private static final Map<JobState, Set<JobState>> ALLOWED = new EnumMap<>(JobState.class);
    /** What the table reaches from each state in one step or more. */
    private static final Map<JobState, Set<JobState>> REACHABLE = new EnumMap<>(JobState.class);

    static {
        ALLOWED.put(JobState.QUEUED, EnumSet.of(JobState.RUNNING, JobState.CANCELED, JobState.EXPIRED));
        ALLOWED.put(JobState.RUNNING,
                EnumSet.of(JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED));
        for (JobState s : JobState.values()) {
            if (s.isTerminal()) {
                ALLOWED.put(s, EnumSet.noneOf(JobState.class));
            }
        }
        for (JobState s : JobState.values()) {
            Set<JobState> reached = EnumSet.noneOf(JobState.class);
            Set<JobState> next = EnumSet.copyOf(ALLOWED.get(s));
            while (reached.addAll(next)) {
                next = EnumSet.noneOf(JobState.class);
                for (JobState r : reached) {
                    next.addAll(ALLOWED.get(r));
                }
            }
            REACHABLE.put(s, reached);
        }
    }

    private JobTransitions() {
    }

    /** Whether a job may move from {@code from} to {@code to}. */
    public static boolean isAllowed(JobState from, JobState to) {
        return ALLOWED.get(from).contains(to);
    }

    /** Throws {@link IllegalJobTransitionException} unless the move is in the table: a writer's one step. */
    public static void check(String jobId, JobState from, JobState to) {
        if (!isAllowed(from, to)) {
            throw new IllegalJobTransitionException(jobId, from, to, "not in the transition table");
        }
    }

    /** Whether the table leads from {@code from} to {@code to} in one step or more. */
    public static boolean isReachable(JobState from, JobState to) {
        return REACHABLE.get(from).contains(to);
    }

    /**
     * Throws {@link IllegalJobTransitionException} unless the table leads from {@code from} to {@code to} in one
     * step or more: a reader's check, where compaction may have removed the events of the steps in between
     * (a job read as {@code QUEUED}, then its lone {@code SUCCEEDED}). Nothing leaves a terminal state, and
     * nothing returns to {@code QUEUED}, in either check.
     */
    public static void checkReachable(String jobId, JobState from, JobState to) {
        if (!isReachable(from, to)) {
            throw new IllegalJobTransitionException(jobId, from, to, "not reachable in the transition table");
        }
    }
}
