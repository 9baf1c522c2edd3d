package io.diffq.gateway.jobs;

import io.diffq.common.job.JobState;

/** The job has no image to give: still running, or it ended without one, or the image expired. */
public class ImageUnavailableException extends RuntimeException {

    private final JobState state;
    private final boolean expired;

    public ImageUnavailableException(String id, JobState state, boolean expired) {
        super(expired ? "the image of job " + id + " is past its retention"
                : state.isTerminal() ? "job " + id + " ended " + state + " without an image"
                        : "job " + id + " is " + state + "; poll it until SUCCEEDED");
        this.state = state;
        this.expired = expired;
    }

    public JobState state() {
        return state;
    }

    public boolean expired() {
        return expired;
    }
}
