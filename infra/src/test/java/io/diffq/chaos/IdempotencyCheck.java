package io.diffq.chaos;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * One job per {@code Idempotency-Key} (per API key): every {@code 2xx} names the same id, at most one says it
 * created the job, a body like the job's (the first record of its id on {@code diffq.jobs}) is never {@code 422}
 * and a different body is never {@code 2xx}.
 */
final class IdempotencyCheck implements Check {

    @Override
    public void check(CheckInput in, List<Violation> out) {
        Map<String, List<Op>> byKey = in.ops(Op.Kind.SUBMIT)
                .filter(op -> op.idempotencyKey() != null && op.outcome() == Op.Outcome.ANSWERED)
                .collect(Collectors.groupingBy(op -> op.apiKey() + "/" + op.idempotencyKey(), LinkedHashMap::new,
                        Collectors.toList()));
        byKey.forEach((key, ops) -> check(key, ops, in.topics(), out));
    }

    private static void check(String key, List<Op> ops, TopicContents topics, List<Violation> out) {
        List<Op> accepted = ops.stream().filter(Op::accepted).toList();
        List<String> ids = accepted.stream().map(Op::jobId).distinct().toList();
        if (ids.size() > 1) {
            out.add(new Violation(Violation.IDEMPOTENCY, ids.get(0), "key " + key + " made jobs " + ids));
            return;
        }
        long created = accepted.stream().filter(op -> !op.replayed()).count();
        if (created > 1) {
            out.add(new Violation(Violation.IDEMPOTENCY, ids.get(0), "key " + key + ": " + created
                    + " answers said Idempotency-Replayed: false"));
        }
        String id = ids.isEmpty() ? null : ids.get(0);
        String winner = id == null ? null : topics.firstPrompts().get(id);
        if (winner == null) {
            return; // no job: nothing was accepted, or lost-job says so
        }
        for (Op op : ops) {
            boolean same = winner.equals(op.prompt());
            if (same && op.status() == 422) {
                out.add(new Violation(Violation.IDEMPOTENCY, id, "key " + key + ": the job's own body got 422 from gateway "
                        + op.gateway() + " at " + op.endMs()));
            } else if (!same && op.accepted()) {
                out.add(new Violation(Violation.IDEMPOTENCY, id, "key " + key + ": a different body (\"" + op.prompt()
                        + "\", the job's is \"" + winner + "\") got " + op.status() + " from gateway " + op.gateway()));
            }
        }
    }
}
