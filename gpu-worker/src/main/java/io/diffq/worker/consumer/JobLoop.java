package io.diffq.worker.consumer;

import io.diffq.common.kafka.Topics;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One device's consumer loop in the {@code diffq-workers} group: poll a job, count its delivery, run it, and
 * go on to the next while the previous one's writes are still on their way. Per job the loop waits for one
 * broker round trip only, the commit that counts the delivery (which also finishes every job whose terminal
 * event was acknowledged since the last commit); the committed metadata of its partitions is read once per
 * assignment, RUNNING is not waited for, and the image and the terminal event are written behind the next job.
 *
 * <p>Guarantees, and how each holds:
 * <ul>
 * <li><b>The offset moves past a job only after its terminal event is acknowledged</b>: the
 *     {@link OffsetLedger} advances a partition's position only over finished jobs, in offset order.</li>
 * <li><b>Attempts are counted across {@code kill -9}</b>: the commit counting a delivery is acknowledged
 *     before the job's model starts; a worker that takes the partition over reads the counts from the
 *     committed metadata, for every unfinished job at or after the position.</li>
 * <li><b>A failed write loses nothing</b>: when a job's writes fail (the broker is gone), the loop waits for
 *     the other writes in flight, rewinds each partition to its first unfinished job, and runs it again after
 *     a pause; jobs after it that did finish are skipped.</li>
 * <li><b>A partition given up in a rebalance</b> is given up only after its writes in flight settle and its
 *     position is committed, so the next owner neither repeats finished jobs nor misses counted attempts.</li>
 * <li><b>At most {@link #MAX_IN_FLIGHT} jobs' writes are unacknowledged</b> at once; the next job waits for
 *     the oldest, so a slow broker slows the loop instead of piling up images in memory.</li>
 * </ul>
 */
final class JobLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(JobLoop.class);

    static final int MAX_IN_FLIGHT = 4;

    /** Runs one delivery of a job; the future completes when its terminal event is acknowledged. */
    @FunctionalInterface
    interface Deliverer {
        CompletableFuture<Void> deliver(ConsumerRecord<String, byte[]> record, int attempt, BooleanSupplier handBack);
    }

    /**
     * @param pollTimeout how long one poll waits for a job
     * @param backOff     the pause before a job runs again (a retryable failure, a failed write or commit)
     * @param settleTime  how long a rebalance or a shutdown waits for the writes in flight
     */
    record Timing(Duration pollTimeout, Duration backOff, Duration settleTime) {
    }

    private record Delivered(TopicPartition tp, long offset, Throwable failure) {
    }

    private final String name;
    private final Consumer<String, byte[]> consumer;
    private final Deliverer deliverer;
    private final BooleanSupplier handBack;
    private final Timing timing;
    private final OffsetLedger ledger = new OffsetLedger();
    /** Deliveries whose writes are not acknowledged yet, oldest first. */
    private final Deque<CompletableFuture<Void>> inFlight = new ArrayDeque<>();
    /** Filled by the producer's threads, drained by this loop's. */
    private final Queue<Delivered> delivered = new ConcurrentLinkedQueue<>();
    /** Partitions rewound since the last poll: their records already in hand come again. */
    private final Set<TopicPartition> rewound = new HashSet<>();
    private volatile boolean stopping;
    private boolean handedBack;

    JobLoop(String name, Consumer<String, byte[]> consumer, Deliverer deliverer, BooleanSupplier handBack,
            Timing timing) {
        this.name = name;
        this.consumer = consumer;
        this.deliverer = deliverer;
        this.handBack = handBack;
        this.timing = timing;
    }

    /**
     * Asks the loop to stop after the job in hand (which the hand-back supplier may cut short); an idle loop
     * notices within one poll timeout. (No {@code wakeup()}: it would break the final commit instead.)
     */
    void stop() {
        stopping = true;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(Topics.JOBS), new Rebalance());
            while (!stopping) {
                try {
                    settle(false);
                    rewound.clear();
                    for (ConsumerRecord<String, byte[]> record : consumer.poll(timing.pollTimeout())) {
                        handle(record);
                    }
                } catch (KafkaException e) {
                    log.warn("{}: {}; trying again in {}", name, e.getMessage(), timing.backOff());
                    pause();
                }
            }
        } finally {
            close();
        }
    }

    /** One job: count the delivery, then run it, again while it fails in a way another attempt may fix. */
    private void handle(ConsumerRecord<String, byte[]> record) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        if (ledger.repeatsEarlierRecord(tp, record.key(), record.offset())) {
            if (!ledger.isDone(tp, record.offset())) {
                log.info("{}: skipping {}: job {} is an earlier record of the partition", name, at(record),
                        record.key());
                ledger.finished(tp, record.offset());
            }
            return;
        }
        while (!stopping && !rewound.contains(tp) && !ledger.isDone(tp, record.offset())) {
            if (!makeRoom(tp)) {
                return;
            }
            int attempt = ledger.begin(tp, record.offset());
            Map<TopicPartition, OffsetAndMetadata> commits = ledger.drainCommits();
            try {
                consumer.commitSync(commits);
            } catch (KafkaException e) {
                ledger.undo(tp, record.offset());
                ledger.markDirty(commits.keySet());
                log.warn("{}: could not count a delivery of {}: {}; trying again in {}", name, at(record),
                        e.getMessage(), timing.backOff());
                pause();
                continue;
            }
            try {
                CompletableFuture<Void> written = deliverer.deliver(record, attempt, handBack);
                inFlight.add(written.whenComplete((ok, failure) ->
                        delivered.add(new Delivered(tp, record.offset(), failure))));
                return;
            } catch (RetryJobException e) {
                log.info("{}: {}", name, e.getMessage());
                pause();
            } catch (JobHandedBackException e) {
                ledger.undo(tp, record.offset());
                handedBack = true;
                stopping = true;
                return;
            } catch (RuntimeException e) {
                // A write refused at once, or a defect: the job is not lost, it runs again (counted).
                log.warn("{}: delivering {} failed: {}; running it again in {}", name, at(record), e.toString(),
                        timing.backOff());
                pause();
            }
        }
    }

    private static String at(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    /**
     * Waits for the oldest delivery's writes while {@link #MAX_IN_FLIGHT} are outstanding, then takes in what
     * was delivered, without committing: the commit that counts the next delivery carries it. Returns false
     * when that rewound this job's partition: its record comes again.
     */
    private boolean makeRoom(TopicPartition tp) {
        inFlight.removeIf(CompletableFuture::isDone);
        while (inFlight.size() >= MAX_IN_FLIGHT) {
            await(inFlight.peekFirst(), timing.settleTime());
            inFlight.removeIf(CompletableFuture::isDone);
        }
        takeInAndRewind();
        return !rewound.contains(tp);
    }

    /**
     * Takes in the deliveries acknowledged or failed since the last look, and commits. On a failure, waits for
     * all writes in flight, then rewinds each partition with a failed job to its first unfinished one and
     * pauses (not when stopping: the next owner runs it). {@code commitNow}: commit and wait; otherwise
     * finished jobs are committed without waiting, or with the next delivery's count.
     */
    private void settle(boolean commitNow) {
        takeInAndRewind();
        Map<TopicPartition, OffsetAndMetadata> commits = ledger.drainCommits();
        if (commits.isEmpty()) {
            return;
        }
        if (commitNow) {
            consumer.commitSync(commits);
        } else {
            consumer.commitAsync(commits, (offsets, e) -> {
                if (e != null) {
                    log.debug("{}: commit of finished jobs failed ({}); the next commit carries them", name,
                            e.toString());
                }
            });
        }
    }

    /** The first half of {@link #settle}: the ledger and the rewinds, no commit. */
    private void takeInAndRewind() {
        Map<TopicPartition, Long> rewind = takeIn();
        if (!rewind.isEmpty()) {
            awaitAll();
            takeIn().forEach((tp, offset) -> rewind.merge(tp, offset, Math::min));
            if (!stopping) {
                rewind.forEach((tp, offset) -> {
                    if (ledger.owns(tp)) {
                        consumer.seek(tp, offset);
                        rewound.add(tp);
                    }
                });
                pause();
            }
        }
    }

    /** The finished deliveries into the ledger; returns, per partition, the first one whose writes failed. */
    private Map<TopicPartition, Long> takeIn() {
        Map<TopicPartition, Long> failed = new HashMap<>();
        Delivered d;
        while ((d = delivered.poll()) != null) {
            if (d.failure() == null) {
                ledger.finished(d.tp(), d.offset());
            } else if (ledger.owns(d.tp())) {
                log.warn("{}: writing the outcome of {}-{}@{} failed: {}; it will run again", name, d.tp().topic(),
                        d.tp().partition(), d.offset(), d.failure().toString());
                failed.merge(d.tp(), d.offset(), Math::min);
            }
        }
        return failed;
    }

    /** Waits (each at most the settle time) for every write in flight to be acknowledged or to fail. */
    private void awaitAll() {
        for (CompletableFuture<Void> written : inFlight) {
            await(written, timing.settleTime());
        }
        inFlight.clear();
    }

    private void await(CompletableFuture<Void> written, Duration limit) {
        try {
            written.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        } catch (TimeoutException e) {
            log.warn("{}: a job's writes were not acknowledged within {}", name, limit);
        } catch (Exception e) {
            // A failed write is taken in by settle().
        }
    }

    private void pause() {
        try {
            Thread.sleep(timing.backOff().toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        }
    }

    private void close() {
        try {
            awaitAll();
            settle(true);
            if (handedBack) {
                log.info("{}: the job in hand went back to the group; its attempt is not counted", name);
            }
        } catch (RuntimeException e) {
            log.warn("{}: final commit failed: {}; the next owner runs the unfinished jobs again", name,
                    e.toString());
        } finally {
            consumer.close();
        }
    }

    /** Commits what is finished before partitions go, reads the committed counts of the ones that come. */
    private final class Rebalance implements ConsumerRebalanceListener {

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return;
            }
            awaitAll();
            settle(false);
            try {
                consumer.commitSync(ledger.commitsFor(partitions));
            } catch (KafkaException e) {
                log.warn("{}: commit before giving up {} failed: {}", name, partitions, e.toString());
            }
            ledger.remove(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new HashSet<>(partitions));
            for (TopicPartition tp : partitions) {
                ledger.assign(tp, committed.get(tp));
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            ledger.remove(partitions);
        }
    }
}
