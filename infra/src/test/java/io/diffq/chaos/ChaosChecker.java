package io.diffq.chaos;

import java.util.ArrayList;
import java.util.List;

/**
 * The campaign's checker: pure code over a history and the topics' contents, so its every invariant is tested
 * against a history broken on purpose ({@code ChaosCheckerTests}). See docs/testing.md, "Fault campaign".
 */
final class ChaosChecker {

    private static final List<Check> CHECKS = List.of(new TerminalStateCheck(), new CancelCheck(),
            new IdempotencyCheck(), new AttemptsCheck(), new ImageCheck(), new AnswerCheck(),
            new TransitionOrderCheck(), new CompactionCheck());

    private ChaosChecker() {
    }

    /** Every violation of every invariant; empty when the campaign kept every promise. */
    static List<Violation> check(CheckInput in) {
        List<Violation> out = new ArrayList<>();
        CHECKS.forEach(c -> c.check(in, out));
        return out;
    }
}
