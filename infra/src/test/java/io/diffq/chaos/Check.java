package io.diffq.chaos;

import java.util.List;

/** One invariant (or a few close ones) over a campaign's history and topics; adds what breaks it to {@code out}. */
interface Check {

    void check(CheckInput in, List<Violation> out);
}
