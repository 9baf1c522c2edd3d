package io.diffq.gateway.status;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The order of the jobs no worker has taken, per model, as one snapshot: how many are ahead of a job.
 *
 * <p>What "ahead" means. A partition of {@code diffq.jobs} is a queue in the exact sense: the workers take
 * its jobs in offset order, so a job of the same model at a lower offset of the same partition is ahead of
 * it, always. Partitions have no order between them (each is served by whichever worker holds it); there a
 * job counts as ahead when the gateway accepted it earlier ({@code createdAt}), which is the order a fleet
 * with every partition served drains them in. The number is therefore exact within a partition and a fair
 * estimate across them: the jobs of this model that the fleet will, in all likelihood, start first.
 */
final class QueueOrder {

    /** A queued job's place in the log. */
    record Entry(String model, int partition, long offset, Instant createdAt) {
    }

    private final Map<String, ModelOrder> byModel;

    private QueueOrder(Map<String, ModelOrder> byModel) {
        this.byModel = byModel;
    }

    static QueueOrder of(List<Entry> queued) {
        Map<String, List<Entry>> grouped = new HashMap<>();
        for (Entry e : queued) {
            grouped.computeIfAbsent(e.model(), k -> new ArrayList<>()).add(e);
        }
        Map<String, ModelOrder> byModel = new HashMap<>();
        grouped.forEach((model, entries) -> byModel.put(model, ModelOrder.of(entries)));
        return new QueueOrder(byModel);
    }

    /** How many queued jobs of {@code job}'s model are ahead of it (it need not be in the snapshot itself). */
    long ahead(Entry job) {
        ModelOrder order = byModel.get(job.model());
        return order == null ? 0 : order.ahead(job);
    }

    /** Queued jobs of each model in the snapshot. */
    Map<String, Integer> waiting() {
        Map<String, Integer> waiting = new HashMap<>();
        byModel.forEach((model, order) -> waiting.put(model, order.created.length));
        return waiting;
    }

    /** The acceptance time of the oldest queued job of {@code model}, or {@code null} when none waits. */
    Instant oldest(String model) {
        ModelOrder order = byModel.get(model);
        return order == null || order.created.length == 0 ? null : nanosToInstant(order.created[0]);
    }

    private static long nanos(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
    }

    private static Instant nanosToInstant(long n) {
        return Instant.ofEpochSecond(Math.floorDiv(n, 1_000_000_000L), Math.floorMod(n, 1_000_000_000L));
    }

    /** One model's queued jobs: acceptance times over all partitions, and offsets and times per partition. */
    private static final class ModelOrder {

        private final long[] created;
        private final Map<Integer, long[]> createdByPartition;
        private final Map<Integer, long[]> offsetsByPartition;

        private ModelOrder(long[] created, Map<Integer, long[]> createdByPartition, Map<Integer, long[]> offsets) {
            this.created = created;
            this.createdByPartition = createdByPartition;
            this.offsetsByPartition = offsets;
        }

        static ModelOrder of(List<Entry> entries) {
            long[] created = new long[entries.size()];
            Map<Integer, List<Entry>> byPartition = new HashMap<>();
            for (int i = 0; i < created.length; i++) {
                Entry e = entries.get(i);
                created[i] = nanos(e.createdAt());
                byPartition.computeIfAbsent(e.partition(), k -> new ArrayList<>()).add(e);
            }
            Arrays.sort(created);
            Map<Integer, long[]> createdByPartition = new HashMap<>();
            Map<Integer, long[]> offsets = new HashMap<>();
            byPartition.forEach((p, list) -> {
                createdByPartition.put(p, list.stream().mapToLong(e -> nanos(e.createdAt())).sorted().toArray());
                offsets.put(p, list.stream().mapToLong(Entry::offset).sorted().toArray());
            });
            return new ModelOrder(created, createdByPartition, offsets);
        }

        long ahead(Entry job) {
            long t = nanos(job.createdAt());
            long[] own = createdByPartition.getOrDefault(job.partition(), new long[0]);
            long[] ownOffsets = offsetsByPartition.getOrDefault(job.partition(), new long[0]);
            // Other partitions by acceptance time, its own by offset.
            return below(created, t) - below(own, t) + below(ownOffsets, job.offset());
        }

        /** How many values of the sorted array are strictly below {@code v}. */
        private static int below(long[] sorted, long v) {
            int lo = 0;
            int hi = sorted.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (sorted[mid] < v) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }
    }
}
