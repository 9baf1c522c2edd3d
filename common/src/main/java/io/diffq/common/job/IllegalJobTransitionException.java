package io.diffq.common.job;

/** A state change that the transition table forbids: a defect or a duplicate delivery, never a silent overwrite. */
public class IllegalJobTransitionException extends RuntimeException {

    private final String jobId;
    private final JobState from;
    private final JobState to;

    public IllegalJobTransitionException(String jobId, JobState from, JobState to, String why) {
        super("job " + jobId + ": illegal transition " + from + " -> " + to + " (" + why + ")");
        this.jobId = jobId;
        this.from = from;
        this.to = to;
    }

    public String jobId() {
        return jobId;
    }

    public JobState from() {
        return from;
    }

    public JobState to() {
        return to;
    }
}
