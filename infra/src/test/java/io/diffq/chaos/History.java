package io.diffq.chaos;

import java.util.ArrayList;
import java.util.List;

/** Every request the clients sent and its answer, appended as answers come, from any thread. */
final class History {

    private final List<Op> ops = new ArrayList<>();

    synchronized void add(Op op) {
        ops.add(op);
    }

    synchronized List<Op> ops() {
        return List.copyOf(ops);
    }

    synchronized int size() {
        return ops.size();
    }
}
