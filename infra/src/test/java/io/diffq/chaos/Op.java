package io.diffq.chaos;

/**
 * One request a client sent and what came back, with when it was sent and answered (wall-clock epoch
 * milliseconds, the clock the workers stamp events with): one entry of the history.
 *
 * @param client         the client that sent it ({@code -1} for the checker's own final reads)
 * @param phase          {@code load} while faults run, {@code final} after healing and quiescence
 * @param kind           what was asked
 * @param gateway        which gateway was asked (0 or 1)
 * @param apiKey         the name of the API key it was sent with
 * @param idempotencyKey its {@code Idempotency-Key}, or {@code null}
 * @param prompt         the prompt of a submit's body (different bodies differ in their prompt), else {@code null}
 * @param jobId          the job asked about, or the id a submit was answered with ({@code null} if none)
 * @param startMs        when it was sent
 * @param endMs          when the answer (or the failure) came
 * @param timeoutMs      how long the client waited at most
 * @param outcome        whether an answer came
 * @param status         the HTTP status, or -1 without an answer
 * @param retryAfter     whether the answer carried {@code Retry-After}
 * @param replayed       whether the answer said {@code Idempotency-Replayed: true}
 * @param state          the job state the answer showed, when it showed the status view's ({@code null} if none)
 * @param attempt        the attempt the answer showed (0 if none)
 * @param imageSha256    the SHA-256 of an image answer's bytes, else {@code null}
 */
record Op(int client, String phase, Kind kind, int gateway, String apiKey, String idempotencyKey, String prompt,
        String jobId, long startMs, long endMs, long timeoutMs, Outcome outcome, int status, boolean retryAfter,
        boolean replayed, String state, int attempt, String imageSha256) {

    /** What a client asked. */
    enum Kind { SUBMIT, POLL, CANCEL, IMAGE }

    /** Whether an answer came: {@code TIMEOUT} is a request that hung past its timeout. */
    enum Outcome { ANSWERED, TIMEOUT, REFUSED, IO_ERROR }

    static final String LOAD = "load";
    static final String FINAL = "final";

    /** Whether this is a submit that created or found a job ({@code 202}, or {@code 200} after a wait). */
    boolean accepted() {
        return kind == Kind.SUBMIT && outcome == Outcome.ANSWERED && (status == 202 || status == 200)
                && jobId != null;
    }

    /** Whether it ended before {@code other} began: only then does real time order the two. */
    boolean before(Op other) {
        return endMs < other.startMs;
    }

    /** A copy with another state and attempt, for tests that mutate a history. */
    Op withState(String newState, int newAttempt) {
        return new Op(client, phase, kind, gateway, apiKey, idempotencyKey, prompt, jobId, startMs, endMs, timeoutMs,
                outcome, status, retryAfter, replayed, newState, newAttempt, imageSha256);
    }
}
