package io.diffq.common.job;

import java.time.Instant;

/**
 * A request about a job from a client, on {@code diffq.job-controls} keyed by job id. Workers read every
 * control; only a worker writes a job's terminal state, so a cancel never races a worker into two
 * different terminal states.
 *
 * @param jobId  the job
 * @param action what is asked; {@code cancel} for now
 * @param at     when the client asked
 */
public record JobControl(String jobId, String action, Instant at) {

    public static final String CANCEL = "cancel";

    public static JobControl cancel(String jobId, Instant at) {
        return new JobControl(jobId, CANCEL, at);
    }
}
