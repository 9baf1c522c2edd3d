package io.diffq.common.job;

/** The life-cycle states of a job. Which state may follow which is decided by {@link JobTransitions} alone. */
public enum JobState {
    QUEUED,
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELED,
    EXPIRED;

    /** Whether a job in this state will never change again. */
    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELED || this == EXPIRED;
    }
}
