package io.diffq.common.job;

import java.time.Instant;

/**
 * A request about a job from a client, on {@code diffq.job-controls} keyed by job id. Workers read every
 * control; only a worker writes a job's terminal state, so a cancel never races a worker into two
 * different terminal states.
 *
 * @param jobId   the job
 * @param action  what is asked: {@code cancel}; or what a worker tells the others: {@code handed-back} (a delivery
 *                of the job went back unfinished on shutdown, under the key {@code <job id>#handed-back-<delivery>})
 * @param at      when the client asked
 * @param attempt for a {@code handed-back}: the attempt the delivery had started, so the next delivery runs it
 *                again; {@code null} when it had started none (handed back before admission), for a cancel, and
 *                from older workers (then the next delivery counts the attempt as spent)
 */
public record JobControl(String jobId, String action, Instant at, Integer attempt) {

    public static final String CANCEL = "cancel";
    public static final String HANDED_BACK = "handed-back";

    public JobControl(String jobId, String action, Instant at) {
        this(jobId, action, at, null);
    }

    public static JobControl cancel(String jobId, Instant at) {
        return new JobControl(jobId, CANCEL, at);
    }
}
