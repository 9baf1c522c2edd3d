package io.diffq.gateway.status;

import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import jakarta.annotation.PreDestroy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Where each waiting job stands: a snapshot of the queue's order over the live jobs (rebuilt at most twice a
 * second, since each poll of a queued job reads it), the jobs ahead of one and when it should start and finish,
 * from the fleet's recent pace. The order is the log's ({@link QueueOrder}) unless a {@link QueueOrdering} bean
 * gives another (the lanes' dispatcher rule).
 */
@Component
public class QueuePositions {

    private static final Logger log = LoggerFactory.getLogger(QueuePositions.class);
    private static final QueueOrdering.Snapshot EMPTY = new QueueOrdering.Snapshot() {
        @Override
        public OptionalLong ahead(JobStatus queued) {
            return OptionalLong.empty();
        }

        @Override
        public Set<String> sharing(String model) {
            return Set.of(model);
        }

        @Override
        public Instant oldest(String model) {
            return null;
        }
    };

    private final JobStatusView view;
    private final FleetStats fleet;
    private final Clock clock;
    private final QueueOrdering ordering;
    private volatile QueueOrdering.Snapshot snapshot = EMPTY;
    private volatile LogOrder lastLogOrder;
    private volatile long orderAt;
    private final AtomicBoolean rebuilding = new AtomicBoolean();
    private final ExecutorService rebuilder = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "diffq-queue-positions");
        t.setDaemon(true);
        return t;
    });

    public QueuePositions(JobStatusView view, FleetStats fleet, Clock clock, Optional<QueueOrdering> ordering) {
        this.view = view;
        this.fleet = fleet;
        this.clock = clock;
        this.ordering = ordering.orElseGet(() -> this::logOrder);
    }

    /**
     * Where a queued job stands, from a snapshot of the queue at most half a second old; empty when the job
     * is not queued or its request (and so its place in the log) is not known here.
     */
    public Optional<QueuePosition> position(JobStatus s) {
        if (s.state() != JobState.QUEUED || s.request() == null) {
            return Optional.empty();
        }
        QueueOrdering.Snapshot now = current();
        OptionalLong counted = now.ahead(s);
        if (counted.isEmpty()) {
            return Optional.empty();
        }
        long ahead = counted.getAsLong();
        String model = LiveJobs.modelOf(s);
        Set<String> sharing = now.sharing(model);
        Optional<Duration> perJob = fleet.recentServiceTime(model);
        double rate = sharing.stream().mapToDouble(fleet::recentThroughput).sum();
        Instant start = null;
        if (rate > 0) {
            start = clock.instant().plusMillis(Math.round(ahead * 1000 / rate));
        } else if (perJob.isPresent()) {
            int workers = sharing.stream().mapToInt(fleet::activeWorkers).max().orElse(0);
            if (workers > 0) {
                start = clock.instant().plus(perJob.get().multipliedBy(ahead).dividedBy(workers));
            }
        }
        Instant finish = start == null || perJob.isEmpty() ? null : start.plus(perJob.get());
        return Optional.of(new QueuePosition(ahead, start, finish));
    }

    /** When the oldest job of {@code model} that no worker has taken was accepted, if one waits. */
    public Optional<Instant> oldestQueued(String model) {
        return Optional.ofNullable(current().oldest(model));
    }

    /**
     * The snapshot. When it is older than half a second, one caller has it rebuilt on a thread of its own and every
     * caller takes the one there is meanwhile: a rebuild walks every waiting job, and no request waits for it. Only
     * the first ever is built by its caller.
     */
    private QueueOrdering.Snapshot current() {
        if (System.nanoTime() - orderAt > 500_000_000L && rebuilding.compareAndSet(false, true)) {
            orderAt = System.nanoTime();
            if (snapshot == EMPTY) {
                rebuild();
            } else {
                try {
                    rebuilder.execute(this::rebuild);
                } catch (RejectedExecutionException e) {
                    rebuilding.set(false); // shutting down
                }
            }
        }
        return snapshot;
    }

    private void rebuild() {
        try {
            snapshot = ordering.snapshot();
        } catch (RuntimeException e) {
            log.warn("could not rebuild the queue's order: {}", e.toString());
        } finally {
            orderAt = System.nanoTime();
            rebuilding.set(false);
        }
    }

    @PreDestroy
    void close() {
        rebuilder.shutdownNow();
    }

    /**
     * The log's order: the default {@link QueueOrdering}. The last one again while no live job has changed since it
     * was built (a walk of every waiting job, twice a second, is what a quiet queue of 100k jobs would otherwise
     * cost; the entries it holds are the jobs' places in the log, which only a change moves).
     */
    private QueueOrdering.Snapshot logOrder() {
        long changes = view.liveChanges();
        LogOrder last = lastLogOrder;
        if (last != null && last.changes() == changes) {
            return last.snapshot();
        }
        QueueOrdering.Snapshot built = buildLogOrder();
        lastLogOrder = new LogOrder(changes, built);
        return built;
    }

    /** A log order and the count of changes it was built after. */
    private record LogOrder(long changes, QueueOrdering.Snapshot snapshot) {
    }

    private QueueOrdering.Snapshot buildLogOrder() {
        List<QueueOrder.Entry> queued = new ArrayList<>();
        view.forEachQueued(queued::add);
        QueueOrder built = QueueOrder.of(queued);
        return new QueueOrdering.Snapshot() {
            @Override
            public OptionalLong ahead(JobStatus queued) {
                QueueOrder.Entry entry = view.queueEntry(queued.id());
                return entry == null ? OptionalLong.empty() : OptionalLong.of(built.ahead(entry));
            }

            @Override
            public Set<String> sharing(String model) {
                return Set.of(model);
            }

            @Override
            public Instant oldest(String model) {
                return built.oldest(model);
            }
        };
    }
}
