package io.diffq.gateway.queue;

import java.time.Duration;
import java.util.Map;

/**
 * One reading of the queue.
 *
 * @param lagByPartition per partition of {@code diffq.jobs}, the jobs the worker share group has not finished:
 *                       waiting, and in workers' hands (see {@link QueueMonitor})
 * @param oldestWait     age of the oldest job no worker has taken; zero when none waits
 * @param workers        members of the worker share group (one per worker device)
 * @param devicesByPool  with lanes, each pool's devices: members of the lanes' share group assigned its lane (a
 *                       device counted once per pool); empty without lanes
 * @param admittedBefore how many jobs this gateway instance had admitted when the reading began: those it
 *                       admitted after may not be in the reading yet
 */
public record QueueSnapshot(Map<Integer, Long> lagByPartition, Duration oldestWait, int workers,
        Map<String, Integer> devicesByPool, long admittedBefore) {

    static final QueueSnapshot EMPTY = new QueueSnapshot(Map.of(), Duration.ZERO, 0, Map.of(), 0);

    /** Total lag over all partitions. */
    public long totalLag() {
        return lagByPartition.values().stream().mapToLong(Long::longValue).sum();
    }
}
