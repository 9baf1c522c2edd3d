package io.diffq.gateway.status;

import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.stereotype.Component;

/**
 * Where each waiting job stands: a snapshot of the queue's order over the live jobs (rebuilt at most twice a
 * second, since each poll of a queued job reads it), the jobs ahead of one and when it should start and finish,
 * from the fleet's recent pace.
 */
@Component
public class QueuePositions {

    private final JobStatusView view;
    private final FleetStats fleet;
    private final Clock clock;
    private volatile QueueOrder order = QueueOrder.EMPTY;
    private volatile long orderAt;
    private final AtomicBoolean rebuilding = new AtomicBoolean();

    public QueuePositions(JobStatusView view, FleetStats fleet, Clock clock) {
        this.view = view;
        this.fleet = fleet;
        this.clock = clock;
    }

    /**
     * Where a queued job stands, from a snapshot of the queue at most half a second old; empty when the job
     * is not queued or its request (and so its place in the log) is not known here.
     */
    public Optional<QueuePosition> position(JobStatus s) {
        QueueOrder.Entry entry = s.state() == JobState.QUEUED ? view.queueEntry(s.id()) : null;
        if (entry == null) {
            return Optional.empty();
        }
        String model = entry.model();
        long ahead = queueOrder().ahead(entry);
        Instant now = clock.instant();
        Optional<Duration> perJob = fleet.recentServiceTime(model);
        double rate = fleet.recentThroughput(model);
        Instant start = null;
        if (rate > 0) {
            start = now.plusMillis(Math.round(ahead * 1000 / rate));
        } else if (perJob.isPresent()) {
            int workers = fleet.activeWorkers(model);
            if (workers > 0) {
                start = now.plus(perJob.get().multipliedBy(ahead).dividedBy(workers));
            }
        }
        Instant finish = start == null || perJob.isEmpty() ? null : start.plus(perJob.get());
        return Optional.of(new QueuePosition(ahead, start, finish));
    }

    /** When the oldest job of {@code model} that no worker has taken was accepted, if one waits. */
    public Optional<Instant> oldestQueued(String model) {
        return Optional.ofNullable(queueOrder().oldest(model));
    }

    /** The snapshot; one caller at a time rebuilds it when it is older than half a second, the others take it. */
    private QueueOrder queueOrder() {
        if (System.nanoTime() - orderAt > 500_000_000L && rebuilding.compareAndSet(false, true)) {
            try {
                orderAt = System.nanoTime();
                List<QueueOrder.Entry> queued = new ArrayList<>();
                view.forEachQueued(queued::add);
                order = QueueOrder.of(queued);
            } finally {
                rebuilding.set(false);
            }
        }
        return order;
    }
}
