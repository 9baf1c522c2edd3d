package io.diffq.chaos;

/**
 * A broken promise the checker found: which invariant, which job (or {@code null}), and the evidence from the
 * history and the topics.
 */
record Violation(String invariant, String jobId, String evidence) {

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
    static final String COMPACTION = "compaction";
}
