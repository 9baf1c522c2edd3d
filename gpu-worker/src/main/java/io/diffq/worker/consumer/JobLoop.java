package io.diffq.worker.consumer;

import io.diffq.common.kafka.Topics;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
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
import java.util.function.Function;
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
 * With {@link Batching batching}, compatible jobs already fetched (or arriving within the batch window) run as
 * one batch, and one commit counts every delivery of the batch.
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
 * <li><b>At most {@link #MAX_IN_FLIGHT} batches' writes are unacknowledged</b> at once; the next batch waits
 *     for the oldest, so a slow broker slows the loop instead of piling up images in memory.</li>
 * <li><b>A partition's jobs are counted in offset order</b>, also in batches: a job never joins a batch
 *     ahead of an earlier job of its partition.</li>
 * </ul>
 */
final class JobLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(JobLoop.class);

    static final int MAX_IN_FLIGHT = 4;

    /** One counted delivery of a job. */
    record Job(ConsumerRecord<String, byte[]> record, int attempt) {
    }

    /**
     * What one job's delivery came to: its writes on their way (the future completes when its terminal event
     * is acknowledged, fails when a write fails), another attempt to run after a pause (a failure another
     * attempt may fix), or handed back unfinished on shutdown (not counted).
     */
    record Outcome(CompletableFuture<Void> written, String runAgainBecause, boolean handedBack) {

        static Outcome written(CompletableFuture<Void> written) {
            return new Outcome(written, null, false);
        }

        static Outcome runAgain(String because) {
            return new Outcome(null, because, false);
        }

        static Outcome handBack() {
            return new Outcome(null, null, true);
        }
    }

    /** Runs one delivery of each job of a batch (one job, or several drawn together). */
    @FunctionalInterface
    interface Deliverer {
        /** @return one outcome per job, in the same order */
        List<Outcome> deliver(List<Job> jobs, BooleanSupplier handBack);
    }

    /**
     * How jobs waiting in hand are put into batches.
     *
     * @param max    the most jobs in one batch; 1 runs every job alone
     * @param window how long a batch that is not full may wait for more jobs (zero: only those already fetched)
     * @param key    jobs whose keys are equal may share a batch
     */
    record Batching(int max, Duration window, Function<ConsumerRecord<String, byte[]>, Object> key) {

        static final Batching NONE = new Batching(1, Duration.ZERO, r -> r);

        Batching {
            if (max < 1 || window.isNegative()) {
                throw new IllegalArgumentException("a batch takes at least one job, and waits no negative time");
            }
        }
    }

    /** A record read back from before a partition's committed offset: which job id it carries, and when it was written. */
    record Earlier(String jobId, long offset, long timestamp) {
    }

    /** Reads back the records of a partition from before the offset it was committed at when assigned. */
    @FunctionalInterface
    interface History extends AutoCloseable {

        History NONE = (tp, end, since) -> List.of();

        /**
         * The records of {@code tp} before offset {@code end}, from the first one written at or after
         * {@code since} (epoch milliseconds), in offset order; what could be read, if not all of them.
         */
        List<Earlier> before(TopicPartition tp, long end, long since);

        @Override
        default void close() {
        }
    }

    /**
     * How records repeating an earlier record's job id are recognised.
     *
     * @param window  a record repeats an earlier one of its id written at most this long before it
     * @param history where the records before a partition's committed offset are read back from
     */
    record Repeats(Duration window, History history) {

        static final Repeats NOT_READ_BACK = new Repeats(Duration.ofMinutes(2), History.NONE);
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
    private final Batching batching;
    /** Jobs fetched and not yet run, in the order fetched. */
    private final Deque<ConsumerRecord<String, byte[]>> pending = new ArrayDeque<>();
    /** The batch being put together (a poll during its window may take partitions away from it). */
    private final List<ConsumerRecord<String, byte[]>> forming = new ArrayList<>();
    private final Repeats repeats;
    private final OffsetLedger ledger;
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
        this(name, consumer, deliverer, handBack, timing, Batching.NONE);
    }

    JobLoop(String name, Consumer<String, byte[]> consumer, Deliverer deliverer, BooleanSupplier handBack,
            Timing timing, Batching batching) {
        this(name, consumer, deliverer, handBack, timing, batching, Repeats.NOT_READ_BACK);
    }

    JobLoop(String name, Consumer<String, byte[]> consumer, Deliverer deliverer, BooleanSupplier handBack,
            Timing timing, Batching batching, Repeats repeats) {
        this.repeats = repeats;
        this.ledger = new OffsetLedger(repeats.window());
        this.name = name;
        this.consumer = consumer;
        this.deliverer = deliverer;
        this.handBack = handBack;
        this.timing = timing;
        this.batching = batching;
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
                    if (pending.isEmpty()) {
                        consumer.poll(timing.pollTimeout()).forEach(pending::add);
                    }
                    while (!pending.isEmpty() && !stopping) {
                        handle(nextBatch());
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

    /**
     * The next batch from the jobs in hand: the first one, and after it those that may share its batch, up to
     * the batch's size, waiting up to the batch window for more. A job is never taken ahead of an earlier one
     * of its own partition (the ledger counts a partition's jobs in order), so a job that cannot join holds
     * back the later jobs of its partition.
     */
    private List<ConsumerRecord<String, byte[]>> nextBatch() {
        forming.clear();
        forming.add(pending.poll());
        if (batching.max() == 1) {
            return List.copyOf(forming);
        }
        Object key = batching.key().apply(forming.get(0));
        Set<TopicPartition> held = new HashSet<>();
        take(key, held);
        long deadline = System.nanoTime() + batching.window().toNanos();
        long left;
        while (forming.size() < batching.max() && !forming.isEmpty() && !stopping
                && (left = deadline - System.nanoTime()) > 0) {
            consumer.poll(Duration.ofNanos(left)).forEach(pending::add);
            take(key, held);
        }
        List<ConsumerRecord<String, byte[]>> batch = List.copyOf(forming);
        forming.clear();
        return batch;
    }

    /** Moves the jobs in hand that may join the batch into it, in order, as long as it has room. */
    private void take(Object key, Set<TopicPartition> held) {
        for (var it = pending.iterator(); it.hasNext() && forming.size() < batching.max(); ) {
            ConsumerRecord<String, byte[]> r = it.next();
            TopicPartition tp = partitionOf(r);
            if (!held.contains(tp) && key.equals(batching.key().apply(r))) {
                forming.add(r);
                it.remove();
            } else {
                held.add(tp);
            }
        }
    }

    private static TopicPartition partitionOf(ConsumerRecord<?, ?> record) {
        return new TopicPartition(record.topic(), record.partition());
    }

    /**
     * One batch: count each job's delivery (one commit for all), then run them, again while they fail in a way
     * another attempt may fix. A batch that fails so runs its jobs again one by one, so a job that makes every
     * batch fail costs the others one attempt only.
     */
    private void handle(List<ConsumerRecord<String, byte[]>> batch) {
        List<ConsumerRecord<String, byte[]>> jobs = new ArrayList<>(batch.size());
        for (ConsumerRecord<String, byte[]> record : batch) {
            rememberEarlierRecords(partitionOf(record), record.timestamp());
            if (!skipRepeat(record)) {
                jobs.add(record);
            }
        }
        while (!stopping && !jobs.isEmpty()) {
            makeRoom();
            jobs.removeIf(r -> rewound.contains(partitionOf(r)) || ledger.isDone(partitionOf(r), r.offset()));
            if (jobs.isEmpty()) {
                return;
            }
            List<Job> counted = new ArrayList<>(jobs.size());
            for (ConsumerRecord<String, byte[]> r : jobs) {
                counted.add(new Job(r, ledger.begin(partitionOf(r), r.offset())));
            }
            Map<TopicPartition, OffsetAndMetadata> commits = ledger.drainCommits();
            try {
                consumer.commitSync(commits);
            } catch (KafkaException e) {
                jobs.forEach(r -> ledger.undo(partitionOf(r), r.offset()));
                ledger.markDirty(commits.keySet());
                log.warn("{}: could not count a delivery of {}: {}; polling, then trying again in {}", name,
                        at(jobs.get(0)), e.getMessage(), timing.backOff());
                // Not again from the jobs in hand: a member fenced out of the group (a long pause) learns so only
                // in poll(), and a count retried without it can go through once the consumer has rejoined and
                // run a job whose partition another worker took. They come again from the poll, if still ours.
                rewindTo(jobs);
                pause();
                return;
            }
            List<Outcome> outcomes;
            try {
                outcomes = deliverer.deliver(counted, handBack);
            } catch (RuntimeException e) {
                // A write refused at once, or a defect: the jobs are not lost, they run again (counted).
                log.warn("{}: delivering {} failed: {}; running it again in {}", name, at(jobs.get(0)), e.toString(),
                        timing.backOff());
                pause();
                continue;
            }
            List<ConsumerRecord<String, byte[]>> again = new ArrayList<>();
            List<CompletableFuture<Void>> writes = new ArrayList<>(jobs.size());
            for (int i = 0; i < jobs.size(); i++) {
                ConsumerRecord<String, byte[]> r = jobs.get(i);
                Outcome outcome = outcomes.get(i);
                if (outcome.written() != null) {
                    writes.add(outcome.written().whenComplete((ok, failure) ->
                            delivered.add(new Delivered(partitionOf(r), r.offset(), failure))));
                } else if (outcome.handedBack()) {
                    ledger.undo(partitionOf(r), r.offset());
                    handedBack = true;
                    stopping = true;
                } else {
                    log.info("{}: {}", name, outcome.runAgainBecause());
                    again.add(r);
                }
            }
            if (!writes.isEmpty()) {
                inFlight.add(CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)));
            }
            if (again.isEmpty() || stopping) {
                return;
            }
            pause();
            if (jobs.size() > 1) {
                again.forEach(r -> handle(List.of(r)));
                return;
            }
            jobs = again;
        }
    }

    /**
     * Before the first record of a partition taken over at a committed offset is checked for a repeat: reads
     * back the job ids of the records before that offset, as far back as the repeat window before the record.
     * A repeat whose first record an earlier owner already ran and committed past is then recognised too.
     */
    private void rememberEarlierRecords(TopicPartition tp, long timestamp) {
        if (!ledger.needsEarlierRecords(tp)) {
            return;
        }
        long end = ledger.committedAtAssignment(tp);
        long since = timestamp < 0 ? 0 : Math.max(0, timestamp - repeats.window().toMillis());
        List<Earlier> earlier;
        try {
            earlier = repeats.history().before(tp, end, since);
        } catch (RuntimeException e) {
            log.warn("{}: could not read back {} before offset {}: {}; a repeat of a job finished there would run",
                    name, tp, end, e.toString());
            earlier = List.of();
        }
        ledger.rememberEarlier(tp, earlier);
    }

    /** Whether the record repeats an earlier record's job id; if so it is finished without running. */
    private boolean skipRepeat(ConsumerRecord<String, byte[]> record) {
        TopicPartition tp = partitionOf(record);
        if (!ledger.repeatsEarlierRecord(tp, record.key(), record.offset(), record.timestamp())) {
            return false;
        }
        if (!ledger.isDone(tp, record.offset())) {
            log.info("{}: skipping {}: job {} is an earlier record of the partition", name, at(record), record.key());
            ledger.finished(tp, record.offset());
        }
        return true;
    }

    private static String at(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    /**
     * Waits for the oldest batch's writes while {@link #MAX_IN_FLIGHT} batches are outstanding, then takes in
     * what was delivered, without committing: the commit that counts the next delivery carries it. A rewind
     * that this causes shows in {@link #rewound}: those partitions' jobs in hand come again.
     */
    private void makeRoom() {
        inFlight.removeIf(CompletableFuture::isDone);
        while (inFlight.size() >= MAX_IN_FLIGHT) {
            await(inFlight.peekFirst(), timing.settleTime());
            inFlight.removeIf(CompletableFuture::isDone);
        }
        takeInAndRewind();
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
                forget(rewound);
                pause();
            }
        }
    }

    /** Sets each partition still held back to its first of these jobs and drops its jobs in hand: they come again. */
    private void rewindTo(List<ConsumerRecord<String, byte[]>> jobs) {
        Map<TopicPartition, Long> first = new HashMap<>();
        jobs.forEach(r -> first.merge(partitionOf(r), r.offset(), Math::min));
        first.forEach((tp, offset) -> {
            try {
                consumer.seek(tp, offset);
                rewound.add(tp);
            } catch (IllegalStateException gone) {
                // no longer assigned: its next owner runs it
            }
        });
        forget(first.keySet());
    }

    /** Drops the jobs in hand of these partitions: they come again from the position, or to their next owner. */
    private void forget(Collection<TopicPartition> partitions) {
        pending.removeIf(r -> partitions.contains(partitionOf(r)));
        forming.removeIf(r -> partitions.contains(partitionOf(r)));
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
            repeats.history().close();
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
            forget(partitions);
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
            forget(partitions);
        }
    }
}
