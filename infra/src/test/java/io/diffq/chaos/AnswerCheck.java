package io.diffq.chaos;

import java.util.List;

/** No answer is a {@code 5xx} other than {@code 503} with {@code Retry-After}, and no request hangs past its timeout. */
final class AnswerCheck implements Check {

    @Override
    public void check(CheckInput in, List<Violation> out) {
        for (Op op : in.history()) {
            if (op.outcome() == Op.Outcome.ANSWERED && op.status() >= 500 && !(op.status() == 503 && op.retryAfter())) {
                out.add(new Violation(Violation.SERVER_ERROR, op.jobId(), op.kind() + " to gateway " + op.gateway()
                        + " answered " + op.status() + (op.retryAfter() ? "" : " without Retry-After") + " at "
                        + op.endMs()));
            } else if (op.outcome() == Op.Outcome.TIMEOUT) {
                out.add(new Violation(Violation.HUNG_REQUEST, op.jobId(), op.kind() + " to gateway " + op.gateway()
                        + " sent at " + op.startMs() + " had no answer within " + op.timeoutMs() + " ms"));
            }
        }
    }
}
