package io.diffq.gateway.status;

import java.util.HashMap;
import java.util.Map;
import java.util.NavigableSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;

/**
 * Which records of {@code diffq.job-events} the status view's fold refused (a late write of an attempt that lost
 * its job, anything after a job's terminal event), so that another reader of the topic — the webhook trigger —
 * takes the same decision for the same record whatever either has read since. Refusals are rare: the set holds
 * the last {@value #KEPT} per partition, and only what this instance read ({@link Verdict#UNKNOWN} before that).
 *
 * <p>Written on the view's reader thread; read from any thread once the reader has handed the record over.
 */
public final class EventVerdicts {

    static final int KEPT = 10_000;

    /** How the view's fold took one record. */
    public enum Verdict {
        ACCEPTED, REFUSED,
        /** Read before this instance started (or before the refusals it keeps), or not read in time. */
        UNKNOWN
    }

    /** Per partition, the first offset this instance read (raised past refusals no longer kept). */
    private final Map<Integer, Long> from = new ConcurrentHashMap<>();
    private final Map<Integer, NavigableSet<Long>> refused = new ConcurrentHashMap<>();
    /** Per partition, how many refusals {@link #refused} holds (the reader's thread only). */
    private final Map<Integer, Integer> held = new HashMap<>();

    /** Records that the fold took the record at {@code offset} of {@code partition} ({@code accepted} or not). */
    void read(int partition, long offset, boolean accepted) {
        from.merge(partition, offset, Math::min);
        if (accepted) {
            return;
        }
        NavigableSet<Long> set = refused.computeIfAbsent(partition, p -> new ConcurrentSkipListSet<>());
        if (set.add(offset) && held.merge(partition, 1, Integer::sum) > KEPT) {
            held.merge(partition, -1, Integer::sum);
            from.merge(partition, set.pollFirst() + 1, Math::max);
        }
    }

    /** The verdict on a record the view has read ({@code UNKNOWN} when it was before what this instance knows). */
    Verdict of(int partition, long offset) {
        Long first = from.get(partition);
        if (first == null || offset < first) {
            return Verdict.UNKNOWN;
        }
        NavigableSet<Long> set = refused.get(partition);
        return set != null && set.contains(offset) ? Verdict.REFUSED : Verdict.ACCEPTED;
    }
}
