package io.diffq.gateway.jobs;

import io.diffq.common.job.JobState;

/** The job already reached a terminal state: there is nothing to cancel. */
public class JobFinishedException extends RuntimeException {

    private final JobState state;

    public JobFinishedException(String id, JobState state) {
        super("job " + id + " already ended " + state);
        this.state = state;
    }

    public JobState state() {
        return state;
    }
}
