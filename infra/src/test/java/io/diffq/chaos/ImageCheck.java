package io.diffq.chaos;

import io.diffq.common.job.JobState;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A {@code SUCCEEDED} job's image is served by every gateway with the bytes on {@code diffq.results}, and a job
 * drawn more than once (redelivered after a fault) drew the same bytes each time, as its seed promises.
 */
final class ImageCheck implements Check {

    @Override
    public void check(CheckInput in, List<Violation> out) {
        in.topics().resultHashes().forEach((id, hashes) -> {
            if (hashes.stream().distinct().count() > 1) {
                out.add(new Violation(Violation.IMAGES, id, "diffq.results holds different bytes for one job: " + hashes));
            }
        });
        for (String id : in.acceptedJobs()) {
            if (in.topics().terminal(id).map(e -> e.state() != JobState.SUCCEEDED).orElse(true)) {
                continue;
            }
            List<String> stored = in.topics().resultHashes().getOrDefault(id, List.of());
            String expected = stored.isEmpty() ? null : stored.get(0);
            in.answered(id, Op.Kind.IMAGE, Op.LOAD).filter(op -> op.status() == 200)
                    .filter(op -> !Objects.equals(expected, op.imageSha256())).findFirst()
                    .ifPresent(op -> out.add(mismatch(id, op, expected)));
            for (int g = 0; g < TerminalStateCheck.GATEWAYS; g++) {
                int gateway = g;
                Optional<Op> last = in.answered(id, Op.Kind.IMAGE, Op.FINAL).filter(op -> op.gateway() == gateway)
                        .reduce((a, b) -> b);
                if (last.isEmpty() || last.get().status() != 200) {
                    out.add(new Violation(Violation.IMAGES, id, "SUCCEEDED, but gateway " + g + " served "
                            + last.map(op -> String.valueOf(op.status())).orElse("nothing")));
                } else if (!Objects.equals(expected, last.get().imageSha256())) {
                    out.add(mismatch(id, last.get(), expected));
                }
            }
        }
    }

    private static Violation mismatch(String id, Op op, String expected) {
        return new Violation(Violation.IMAGES, id, "gateway " + op.gateway() + " (" + op.phase() + ") served sha256 "
                + op.imageSha256() + ", diffq.results holds " + expected);
    }
}
