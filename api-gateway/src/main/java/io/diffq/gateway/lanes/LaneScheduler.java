package io.diffq.gateway.lanes;

import io.diffq.common.job.Priority;
import io.diffq.common.model.Pool;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * The order in which waiting jobs are released to a pool of workers ({@code docs/design/lanes.md} §3 and §4): pure,
 * no clock, no broker, one thread (the dispatcher's leader). Not yet wired: the dispatcher that calls it is the
 * next step of that design.
 *
 * <p><b>Priority classes with starvation credits.</b> {@link #next} takes the most urgent class that has a job the
 * pool serves, except that each less urgent class earns one credit every time it is passed over while it has such a
 * job; at {@code starvationCredit} credits its next job goes first and its credits reset. So a {@code low} job at
 * the head of its class is released within {@code starvationCredit + 1} releases of its pool (one more when
 * {@code normal}'s credit falls due at the same time), whatever floods above it; the bound is in jobs, not time.
 *
 * <p><b>Fair order between keys within a class: deficit round robin.</b> Each key (a job's owner) keeps its jobs in
 * the order they were added. The keys with a job the pool serves take turns; each turn a key's deficit grows by the
 * pool's quantum times the key's weight, and a job costs its model's device time ({@code cost}). The quantum is the
 * largest cost among the pool's models, so every key gets at least one job a turn: a key with 500 waiting jobs delays
 * another key's first job by at most one job per other key, not by its backlog.
 */
public final class LaneScheduler {

    /** A job waiting to be released. {@code key} is its owner (any non-null name, e.g. {@code anonymous}). */
    public record Job(String id, String model, String key, Priority priority) {
    }

    /** Jobs of one class: per key, per model, oldest first (the keys in the order their first job came). */
    private static final class ClassQueue {
        final Map<String, Map<String, ArrayDeque<Entry>>> byKey = new LinkedHashMap<>();
    }

    private record Entry(Job job, long seq) {
    }

    /** One pool's turn-taking in one class. */
    private static final class Turns {
        final ArrayDeque<String> ring = new ArrayDeque<>();
        final Set<String> inRing = new HashSet<>();
        final Map<String, Double> deficit = new HashMap<>();
        /** Whether the key at the head of the ring has had this turn's quantum. */
        boolean headGranted;
    }

    private final int starvationCredit;
    private final ToDoubleFunction<String> cost;
    private final ToDoubleFunction<String> weight;
    private final Map<Priority, ClassQueue> classes = new EnumMap<>(Priority.class);
    private final Map<String, Entry> byId = new HashMap<>();
    private final Map<String, Map<Priority, Turns>> turns = new HashMap<>();
    private final Map<String, Map<Priority, Integer>> credits = new HashMap<>();
    private long nextSeq;

    /**
     * @param starvationCredit releases a less urgent class may be passed over before its next job goes first (≥ 1)
     * @param cost             a job's cost by its model (its recent device time; any positive unit)
     * @param weight           a key's share (1 unless configured; positive)
     */
    public LaneScheduler(int starvationCredit, ToDoubleFunction<String> cost, ToDoubleFunction<String> weight) {
        if (starvationCredit < 1) {
            throw new IllegalArgumentException("starvation-credit must be at least 1, not " + starvationCredit);
        }
        this.starvationCredit = starvationCredit;
        this.cost = cost;
        this.weight = weight;
        for (Priority p : Priority.values()) {
            classes.put(p, new ClassQueue());
        }
    }

    /** Adds a waiting job behind the jobs already added; a job added twice is kept once. */
    public void add(Job job) {
        if (byId.containsKey(job.id())) {
            return;
        }
        Entry e = new Entry(job, nextSeq++);
        byId.put(job.id(), e);
        classes.get(job.priority()).byKey.computeIfAbsent(job.key(), k -> new LinkedHashMap<>())
                .computeIfAbsent(job.model(), m -> new ArrayDeque<>()).addLast(e);
    }

    /** Takes a job out without releasing it (it was canceled, or started by other means); whether it was waiting. */
    public boolean remove(String id) {
        Entry e = byId.remove(id);
        if (e == null) {
            return false;
        }
        Map<String, ArrayDeque<Entry>> models = classes.get(e.job().priority()).byKey.get(e.job().key());
        ArrayDeque<Entry> q = models.get(e.job().model());
        q.remove(e);
        if (q.isEmpty()) {
            models.remove(e.job().model());
            if (models.isEmpty()) {
                classes.get(e.job().priority()).byKey.remove(e.job().key());
            }
        }
        return true;
    }

    /** Jobs waiting, in every class and for every model. */
    public int waiting() {
        return byId.size();
    }

    /** The next job to release to {@code pool}, taken out; empty when none of its models has a waiting job. */
    public Optional<Job> next(Pool pool) {
        Map<Priority, Integer> poolCredits = credits.computeIfAbsent(pool.name(), n -> new EnumMap<>(Priority.class));
        EnumSet<Priority> waiting = EnumSet.noneOf(Priority.class);
        for (Priority p : Priority.values()) {
            if (hasJobFor(p, pool)) {
                waiting.add(p);
            }
        }
        if (waiting.isEmpty()) {
            return Optional.empty();
        }
        // Most urgent first, as the enum is declared.
        Priority top = waiting.iterator().next();
        Priority chosen = waiting.stream().filter(p -> p != top && poolCredits.getOrDefault(p, 0) >= starvationCredit)
                .findFirst().orElse(top);
        poolCredits.remove(chosen);
        for (Priority p : Priority.values()) {
            if (p == chosen || p == top) {
                continue;
            }
            if (waiting.contains(p)) {
                // Passed over while it had a job (when a lower class's credit fell due, the classes above it too).
                poolCredits.merge(p, 1, Integer::sum);
            } else {
                // Credits are earned by waiting jobs: a class that emptied starts again from none.
                poolCredits.remove(p);
            }
        }
        return Optional.of(take(chosen, pool));
    }

    private boolean hasJobFor(Priority p, Pool pool) {
        for (Map<String, ArrayDeque<Entry>> models : classes.get(p).byKey.values()) {
            for (String model : pool.models()) {
                if (models.containsKey(model)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The next job of class {@code p} for the pool, by deficit round robin between keys. */
    private Job take(Priority p, Pool pool) {
        ClassQueue queue = classes.get(p);
        Turns t = turns.computeIfAbsent(pool.name(), n -> new EnumMap<>(Priority.class))
                .computeIfAbsent(p, c -> new Turns());
        // Keys that gained a job since the last turn join at the back, oldest job first.
        List<Entry> joining = new ArrayList<>();
        queue.byKey.forEach((key, models) -> {
            Entry oldest = t.inRing.contains(key) ? null : oldest(models, pool);
            if (oldest != null) {
                joining.add(oldest);
            }
        });
        joining.sort(Comparator.comparingLong(Entry::seq));
        for (Entry e : joining) {
            t.ring.addLast(e.job().key());
            t.inRing.add(e.job().key());
        }
        double quantum = pool.models().stream().mapToDouble(cost).max().orElse(1);
        while (true) {
            String key = t.ring.peekFirst();
            Map<String, ArrayDeque<Entry>> models = queue.byKey.get(key);
            Entry head = models == null ? null : oldest(models, pool);
            if (head == null) {
                leave(t, key);
                continue;
            }
            if (!t.headGranted) {
                t.deficit.merge(key, quantum * weight.applyAsDouble(key), Double::sum);
                t.headGranted = true;
            }
            double price = cost.applyAsDouble(head.job().model());
            double deficit = t.deficit.getOrDefault(key, 0.0);
            if (deficit >= price) {
                t.deficit.put(key, deficit - price);
                remove(head.job().id());
                Map<String, ArrayDeque<Entry>> left = queue.byKey.get(key);
                if (left == null || oldest(left, pool) == null) {
                    leave(t, key);
                }
                return head.job();
            }
            // Its turn is spent: to the back, keeping what is left of its deficit.
            t.ring.pollFirst();
            t.ring.addLast(key);
            t.headGranted = false;
        }
    }

    /** A key with nothing left for the pool leaves the ring and forgets its deficit (DRR's rule for idle flows). */
    private static void leave(Turns t, String key) {
        t.ring.pollFirst();
        t.inRing.remove(key);
        t.deficit.remove(key);
        t.headGranted = false;
    }

    /** The key's oldest job of one of the pool's models, or {@code null}. */
    private static Entry oldest(Map<String, ArrayDeque<Entry>> models, Pool pool) {
        Entry best = null;
        for (String model : pool.models()) {
            ArrayDeque<Entry> q = models.get(model);
            if (q != null && !q.isEmpty() && (best == null || q.peekFirst().seq() < best.seq())) {
                best = q.peekFirst();
            }
        }
        return best;
    }
}
