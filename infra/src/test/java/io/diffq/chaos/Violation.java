package io.diffq.chaos;

/**
 * A broken promise the checker found: which invariant, which job (or {@code null}), the evidence from the
 * history and the topics, and, where its shape is that of a defect known and still open (docs/testing.md,
 * "Findings"), that defect's name ({@code null} otherwise).
 */
record Violation(String invariant, String jobId, String evidence, String openDefect) {

    /** A worker paused past its session writes its older attempt's events after a newer attempt's terminal one. */
    static final String STALE_ATTEMPT_WRITES = "stale-attempt-writes";
    /** A job whose terminal event made it out, run again after a lost commit, ends in another terminal state. */
    static final String REDELIVERY_ENDS_OTHERWISE = "redelivery-ends-otherwise";

    Violation(String invariant, String jobId, String evidence) {
        this(invariant, jobId, evidence, null);
    }

    static final String LOST_JOB = "lost-job";
    static final String ONE_TERMINAL_STATE = "one-terminal-state";
    static final String GATEWAYS_AGREE = "gateways-agree";
    static final String CANCELED_QUEUED_RAN = "canceled-queued-ran";
    static final String IDEMPOTENCY = "idempotency";
    static final String ATTEMPTS = "attempts";
    static final String DEAD_LETTERS = "dead-letters";
    static final String IMAGES = "images";
    static final String SERVER_ERROR = "server-error";
    static final String HUNG_REQUEST = "hung-request";
    static final String TRANSITION_ORDER = "transition-order";
}
