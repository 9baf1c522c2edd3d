package io.diffq.gateway.queue;

import java.time.Duration;
import java.util.Map;

/**
 * One reading of the queue.
 *
 * @param lagByPartition jobs not yet committed by the worker group, per partition of {@code diffq.jobs}
 * @param oldestWait     age of the oldest job no worker has taken; zero when none waits
 * @param workers        members of the worker group
 */
public record QueueSnapshot(Map<Integer, Long> lagByPartition, Duration oldestWait, int workers) {

    static final QueueSnapshot EMPTY = new QueueSnapshot(Map.of(), Duration.ZERO, 0);

    /** Total lag over all partitions. */
    public long totalLag() {
        return lagByPartition.values().stream().mapToLong(Long::longValue).sum();
    }
}
