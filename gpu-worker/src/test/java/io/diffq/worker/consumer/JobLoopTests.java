package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.kafka.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The worker's consumer loop on kafka-clients' {@link MockConsumer}: what it commits, and when, for every
 * branch (a job finished, a write that fails, a retry, a hand-back, a failed commit, a partition taken over
 * or given up). The job's own delivery is scripted per offset: these tests are about the loop's bookkeeping;
 * what a delivery writes is tested against a real broker in {@link JobProcessingIntegrationTests}.
 */
class JobLoopTests {

    private static final TopicPartition TP = new TopicPartition(Topics.JOBS, 0);
    private static final JobLoop.Timing FAST = new JobLoop.Timing(Duration.ofMillis(5), Duration.ofMillis(5),
            Duration.ofSeconds(5));

    /** What the loop did with one delivery, and what was committed when the job's model would start. */
    record Call(long offset, int attempt, OffsetAndMetadata committedAtStart) {
    }

    /** A partition's log: every poll returns the record at the consumer's position, as a broker would. */
    static final class LogConsumer extends MockConsumer<String, byte[]> {
        final List<ConsumerRecord<String, byte[]>> log = new CopyOnWriteArrayList<>();
        final AtomicInteger failCommits = new AtomicInteger();
        /** Runs when a commit fails (before the exception), e.g. to schedule what the next poll brings. */
        volatile Runnable onFailedCommit;
        final List<Map<TopicPartition, OffsetAndMetadata>> commits = new CopyOnWriteArrayList<>();
        /** The most records one poll returns. */
        volatile int maxPoll = 1;

        LogConsumer() {
            super("earliest");
            updateBeginningOffsets(Map.of(TP, 0L));
        }

        void append(int count) {
            for (int i = 0; i < count; i++) {
                log.add(new ConsumerRecord<>(TP.topic(), TP.partition(), log.size(), "job-" + log.size(), new byte[0]));
            }
        }

        /** Records for these job ids, in order: an id given twice is a repeated record of one job. */
        void appendJobs(String... ids) {
            for (String id : ids) {
                log.add(new ConsumerRecord<>(TP.topic(), TP.partition(), log.size(), id, new byte[0]));
            }
        }

        /** A record for this job id written at this time (epoch milliseconds). */
        void appendJob(String id, long timestamp) {
            log.add(new ConsumerRecord<>(TP.topic(), TP.partition(), log.size(), timestamp, TimestampType.CREATE_TIME,
                    id.length(), 0, id, new byte[0], new RecordHeaders(), Optional.empty()));
        }

        /** Reads back the log as a worker taking the partition over does: before {@code end}, written since. */
        List<JobLoop.Earlier> before(TopicPartition tp, long end, long since) {
            historyReads.add(new long[] {end, since});
            return log.subList(0, (int) end).stream()
                    .filter(r -> r.timestamp() < 0 || r.timestamp() >= since)
                    .map(r -> new JobLoop.Earlier(r.key(), r.offset(), r.timestamp())).toList();
        }

        final List<long[]> historyReads = new CopyOnWriteArrayList<>();

        @Override
        public synchronized ConsumerRecords<String, byte[]> poll(Duration timeout) {
            super.poll(Duration.ZERO); // runs scheduled tasks (rebalances) and resets positions
            if (!assignment().contains(TP)) {
                return ConsumerRecords.empty();
            }
            long position = position(TP);
            if (position >= log.size()) {
                return ConsumerRecords.empty();
            }
            int end = (int) Math.min(log.size(), position + maxPoll);
            seek(TP, end);
            return new ConsumerRecords<>(Map.of(TP, List.copyOf(log.subList((int) position, end))), Map.of());
        }

        @Override
        public synchronized void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
            if (failCommits.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                Runnable then = onFailedCommit;
                if (then != null) {
                    then.run();
                }
                throw new KafkaException("coordinator not available");
            }
            commits.add(Map.copyOf(offsets));
            super.commitSync(offsets);
        }

        /** The last commit for the partition, also after it was given up or the consumer closed. */
        OffsetAndMetadata committed() {
            for (int i = commits.size() - 1; i >= 0; i--) {
                OffsetAndMetadata c = commits.get(i).get(TP);
                if (c != null) {
                    return c;
                }
            }
            return null;
        }

        @Override
        public synchronized void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets,
                org.apache.kafka.clients.consumer.OffsetCommitCallback callback) {
            commits.add(Map.copyOf(offsets));
            super.commitAsync(offsets, callback);
        }
    }

    private final LogConsumer consumer = new LogConsumer();
    private final List<Call> calls = new CopyOnWriteArrayList<>();
    /** Per offset, what its delivery returns; by default an acknowledged write. */
    private final Map<Long, IntFunction<JobLoop.Outcome>> script = new ConcurrentHashMap<>();
    /** The offsets of each batch delivered, in order. */
    private final List<List<Long>> batches = new CopyOnWriteArrayList<>();
    private final AtomicBoolean handBack = new AtomicBoolean();
    private JobLoop loop;
    private Thread thread;

    @AfterEach
    void stop() throws InterruptedException {
        if (loop != null) {
            loop.stop();
            thread.join(10_000);
            assertThat(thread.isAlive()).as("the loop stopped").isFalse();
        }
    }

    private void start() {
        start(null);
    }

    /** Starts the loop; the partition is assigned at its first poll, after {@code committedBefore} (if any). */
    private void start(OffsetAndMetadata committedBefore) {
        start(committedBefore, JobLoop.Batching.NONE);
    }

    private void start(OffsetAndMetadata committedBefore, JobLoop.Batching batching) {
        start(committedBefore, batching, new JobLoop.Repeats(Duration.ofMinutes(2), consumer::before));
    }

    private void start(OffsetAndMetadata committedBefore, JobLoop.Batching batching, JobLoop.Repeats repeats) {
        // (MockConsumer forgets commits made before subscribe, as a new group member would not.)
        consumer.schedulePollTask(() -> {
            if (committedBefore != null) {
                consumer.commitSync(Map.of(TP, committedBefore));
            }
            consumer.rebalance(List.of(TP));
        });
        JobLoop.Deliverer deliverer = (jobs, ignored) -> {
            List<JobLoop.Outcome> outcomes = new ArrayList<>();
            for (JobLoop.Job job : jobs) {
                long offset = job.record().offset();
                calls.add(new Call(offset, job.attempt(), consumer.committed()));
                outcomes.add(script.getOrDefault(offset, a -> done()).apply(job.attempt()));
            }
            batches.add(jobs.stream().map(j -> j.record().offset()).toList());
            return outcomes;
        };
        BooleanSupplier handingBack = handBack::get;
        loop = new JobLoop("test", consumer, deliverer, handingBack, FAST, batching, repeats);
        thread = new Thread(loop, "job-loop-test");
        thread.start();
    }

    private static JobLoop.Outcome done() {
        return written(CompletableFuture.completedFuture(null));
    }

    private static JobLoop.Outcome written(CompletableFuture<Void> f) {
        return JobLoop.Outcome.written(f);
    }

    private List<Long> offsets() {
        return calls.stream().map(Call::offset).toList();
    }

    @Test
    void eachDeliveryIsCountedBeforeItRunsAndTheSameCommitFinishesTheJobBefore() {
        consumer.append(3);
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 3);
        // When job 1 starts, job 0 is finished (position 1) and job 1's first delivery is counted.
        assertThat(calls.get(0).committedAtStart()).isEqualTo(new OffsetAndMetadata(0, "diffq:attempts:0=1"));
        assertThat(calls.get(1).committedAtStart()).isEqualTo(new OffsetAndMetadata(1, "diffq:attempts:1=1"));
        assertThat(calls.get(2).committedAtStart()).isEqualTo(new OffsetAndMetadata(2, "diffq:attempts:2=1"));
        assertThat(calls).extracting(Call::attempt).containsExactly(1, 1, 1);
        // The last one is committed while idle, without a job to carry it.
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed().offset() == 3);
        assertThat(consumer.committed().metadata()).isEqualTo("diffq:attempts:");
    }

    @Test
    void thePositionMovesPastAJobOnlyOnceItsTerminalEventIsAcknowledgedAndInOffsetOrder() {
        CompletableFuture<Void> first = new CompletableFuture<>();
        CompletableFuture<Void> second = new CompletableFuture<>();
        script.put(0L, a -> written(first));
        script.put(1L, a -> written(second));
        consumer.append(2);
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 2);
        // Job 1 runs while job 0's writes are in flight: both are counted, neither is finished.
        assertThat(calls.get(1).committedAtStart()).isEqualTo(new OffsetAndMetadata(0, "diffq:attempts:0=1,1=1"));
        second.complete(null);
        sleep(100);
        assertThat(consumer.committed().offset()).as("job 1 is done but job 0 is not").isZero();
        first.complete(null);
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed().offset() == 2);
    }

    @Test
    void aWorkerTakingOverGoesOnCountingFromTheCommittedMetadata() {
        consumer.append(8);
        start(new OffsetAndMetadata(5, "diffq:attempts:5=2,6=1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed().offset() == 8);
        assertThat(offsets()).containsExactly(5L, 6L, 7L);
        assertThat(calls).extracting(Call::attempt).containsExactly(3, 2, 1);
        // Job 6's earlier delivery stays on record while job 5 runs again.
        assertThat(calls.get(0).committedAtStart()).isEqualTo(new OffsetAndMetadata(5, "diffq:attempts:5=3,6=1"));
    }

    @Test
    void theCountWrittenByEarlierWorkersIsRead() {
        consumer.append(4);
        start(new OffsetAndMetadata(2, "diffq:attempt:2@2"));
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed().offset() == 4);
        assertThat(offsets()).containsExactly(2L, 3L);
        assertThat(calls).extracting(Call::attempt).containsExactly(3, 1);
    }

    @Test
    void aFailedWriteRunsItsJobAgainCountedWhileJobsThatFinishedAreNotRepeated() {
        CompletableFuture<Void> lost = new CompletableFuture<>();
        script.put(0L, a -> a == 1 ? written(lost) : done());
        consumer.append(3);
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() >= 2);
        assertThat(offsets()).startsWith(0L, 1L);
        lost.completeExceptionally(new KafkaException("broker gone"));
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed().offset() == 3);
        // Job 0 again (attempt 2); job 1 finished before and is skipped; job 2 at most once.
        List<Call> zero = calls.stream().filter(c -> c.offset() == 0).toList();
        assertThat(zero).extracting(Call::attempt).containsExactly(1, 2);
        assertThat(calls.stream().filter(c -> c.offset() == 1).count()).isOne();
        assertThat(calls.stream().filter(c -> c.offset() == 2).count()).isOne();
        assertThat(zero.get(1).committedAtStart().offset()).isZero();
        assertThat(zero.get(1).committedAtStart().metadata()).contains("0=2");
    }

    @Test
    @Tag("abuse")
    void aRecordRepeatingAnEarlierRecordsJobIdNeverRunsAndThePositionMovesPastIt() {
        consumer.appendJobs("job-a", "job-b", "job-a", "job-a", "job-c");
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed() != null
                && consumer.committed().offset() == 5);
        assertThat(offsets()).containsExactly(0L, 1L, 4L);
    }

    @Test
    @Tag("abuse")
    void aWorkerTakingAPartitionOverSkipsARepeatOfAJobAnEarlierOwnerFinishedAndCommitted() {
        long t0 = 1_700_000_000_000L;
        consumer.appendJob("job-a", t0);
        consumer.appendJob("job-b", t0 + 5);
        consumer.appendJob("job-a", t0 + 40); // the repeat: past the offset the earlier owner committed
        consumer.appendJob("job-c", t0 + 50);
        start(new OffsetAndMetadata(2, "diffq:attempts:"));
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed().offset() == 4);
        assertThat(offsets()).containsExactly(3L);
        // Read back once, before offset 2, as far as the repeat window before the first record in hand.
        assertThat(consumer.historyReads).hasSize(1);
        assertThat(consumer.historyReads.get(0)).containsExactly(2L, t0 + 40 - Duration.ofMinutes(2).toMillis());
    }

    @Test
    void aKeyUsedAgainLongAfterItsFirstJobMakesANewJobThatRuns() {
        long t0 = 1_700_000_000_000L;
        long day = Duration.ofDays(1).toMillis();
        consumer.appendJob("job-a", t0);
        consumer.appendJob("job-a", t0 + day); // the gateways forgot the first (status retention): a new job
        consumer.appendJob("job-a", t0 + day + 30); // a concurrent repeat of that new job
        consumer.appendJob("job-b", t0 + day + 40);
        consumer.appendJob("job-b", t0 + 2 * day);
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed() != null
                && consumer.committed().offset() == 5);
        assertThat(offsets()).containsExactly(0L, 1L, 3L, 4L);
    }

    @Test
    @Tag("abuse")
    void theFirstRecordOfAJobRunsAgainAfterAFailedWriteWhileItsRepeatStillDoesNot() {
        CompletableFuture<Void> lost = new CompletableFuture<>();
        script.put(0L, a -> a == 1 ? written(lost) : done());
        consumer.appendJobs("job-a", "job-b", "job-a", "job-c");
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> offsets().contains(3L));
        lost.completeExceptionally(new KafkaException("broker gone"));
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed().offset() == 4);
        assertThat(calls.stream().filter(c -> c.offset() == 0)).extracting(Call::attempt).containsExactly(1, 2);
        assertThat(offsets()).doesNotContain(2L);
    }

    @Test
    void aRetryableFailureDeliversTheJobAgainWithTheNextAttempt() {
        script.put(0L, a -> a < 3 ? JobLoop.Outcome.runAgain("job-0 attempt " + a + " failed") : done());
        consumer.append(2);
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed().offset() == 2);
        assertThat(offsets()).containsExactly(0L, 0L, 0L, 1L);
        assertThat(calls).extracting(Call::attempt).containsExactly(1, 2, 3, 1);
        assertThat(calls.get(2).committedAtStart().metadata()).isEqualTo("diffq:attempts:0=3");
    }

    @Test
    void aJobHandedBackOnShutdownIsNotCountedAndTheLoopStops() throws InterruptedException {
        consumer.append(3);
        script.put(1L, a -> {
            handBack.set(true);
            return JobLoop.Outcome.handBack();
        });
        start();
        thread.join(10_000);
        assertThat(thread.isAlive()).isFalse();
        assertThat(offsets()).containsExactly(0L, 1L);
        assertThat(consumer.committed()).isEqualTo(new OffsetAndMetadata(1, "diffq:attempts:"));
        assertThat(consumer.closed()).isTrue();
        loop = null;
    }

    @Test
    void aCommitThatFailsCountsNothingAndIsTriedAgainBeforeTheJobRuns() {
        consumer.failCommits.set(2);
        consumer.append(1);
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 1);
        assertThat(calls.get(0).attempt()).isEqualTo(1);
        assertThat(calls.get(0).committedAtStart()).isEqualTo(new OffsetAndMetadata(0, "diffq:attempts:0=1"));
    }

    @Test
    void aJobWhoseCountFailedBecauseItsPartitionWentElsewhereNeverRuns() {
        // A member fenced out of the group fails its count; the poll after it hands the partition to another
        // worker. Retried without that poll, the count went through once the consumer rejoined and the job ran
        // here too (found by the fault campaign, seeds 4-6: docs/testing.md, "Findings").
        consumer.failCommits.set(1);
        consumer.onFailedCommit = () -> consumer.schedulePollTask(() -> consumer.rebalance(List.of()));
        consumer.append(1);
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> !consumer.assignment().contains(TP));
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(calls::isEmpty);
    }

    @Test
    void aPartitionGivenUpIsCommittedOnceItsWritesSettle() {
        CompletableFuture<Void> slow = new CompletableFuture<>();
        script.put(0L, a -> written(slow));
        consumer.append(1);
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 1);
        CompletableFuture.delayedExecutor(300, java.util.concurrent.TimeUnit.MILLISECONDS)
                .execute(() -> slow.complete(null));
        consumer.schedulePollTask(() -> consumer.rebalance(Collections.emptyList()));
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.assignment().isEmpty());
        assertThat(slow).isDone();
        assertThat(consumer.committed()).isEqualTo(new OffsetAndMetadata(1, "diffq:attempts:"));
    }

    @Test
    void atMostFourJobsHaveWritesInFlight() {
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        for (long o = 0; o < 6; o++) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            pending.add(f);
            script.put(o, a -> written(f));
        }
        consumer.append(6);
        start();
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == JobLoop.MAX_IN_FLIGHT);
        sleep(200);
        assertThat(calls).hasSize(JobLoop.MAX_IN_FLIGHT);
        pending.get(0).complete(null);
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == JobLoop.MAX_IN_FLIGHT + 1);
        pending.forEach(f -> f.complete(null));
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed().offset() == 6);
    }

    /** Jobs whose ids start with the same letter may share a batch. */
    private static JobLoop.Batching byFirstLetter(int max, Duration window) {
        return new JobLoop.Batching(max, window, r -> r.key().charAt(0));
    }

    @Test
    void compatibleJobsAlreadyFetchedRunAsOneBatchWhoseDeliveriesOneCommitCounts() {
        consumer.maxPoll = 8;
        consumer.appendJobs("a0", "a1", "a2", "a3", "a4");
        start(null, byFirstLetter(4, Duration.ZERO));
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed() != null
                && consumer.committed().offset() == 5);
        assertThat(batches).containsExactly(List.of(0L, 1L, 2L, 3L), List.of(4L));
        assertThat(calls.subList(0, 4)).extracting(Call::committedAtStart)
                .containsOnly(new OffsetAndMetadata(0, "diffq:attempts:0=1,1=1,2=1,3=1"));
        assertThat(calls.get(4).committedAtStart()).isEqualTo(new OffsetAndMetadata(4, "diffq:attempts:4=1"));
    }

    @Test
    void aJobNeverJoinsABatchAheadOfAnEarlierJobOfItsPartitionThatCannotJoin() {
        consumer.maxPoll = 8;
        consumer.appendJobs("a0", "a1", "b2", "a3");
        start(null, byFirstLetter(4, Duration.ZERO));
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed() != null
                && consumer.committed().offset() == 4);
        assertThat(batches).containsExactly(List.of(0L, 1L), List.of(2L), List.of(3L));
    }

    @Test
    void aBatchThatFailsRunsItsJobsAgainAloneAndCounted() {
        for (long o = 0; o < 3; o++) {
            script.put(o, a -> a == 1 ? JobLoop.Outcome.runAgain("the batch failed") : done());
        }
        consumer.maxPoll = 8;
        consumer.appendJobs("a0", "a1", "a2");
        start(null, byFirstLetter(4, Duration.ZERO));
        await().atMost(Duration.ofSeconds(10)).until(() -> consumer.committed() != null
                && consumer.committed().offset() == 3);
        assertThat(batches).containsExactly(List.of(0L, 1L, 2L), List.of(0L), List.of(1L), List.of(2L));
        assertThat(calls).extracting(Call::attempt).containsExactly(1, 1, 1, 2, 2, 2);
        assertThat(calls.get(3).committedAtStart().metadata()).isEqualTo("diffq:attempts:0=2,1=1,2=1");
    }

    @Test
    void aBatchThatIsNotFullWaitsForJobsArrivingWithinItsWindow() {
        consumer.maxPoll = 8;
        consumer.appendJobs("a0");
        CompletableFuture.delayedExecutor(200, java.util.concurrent.TimeUnit.MILLISECONDS)
                .execute(() -> consumer.appendJobs("a1", "a2"));
        start(null, byFirstLetter(4, Duration.ofSeconds(1)));
        await().atMost(Duration.ofSeconds(10)).until(() -> !batches.isEmpty());
        // Without the window the first batch would be job 0 alone.
        assertThat(batches.get(0)).containsExactly(0L, 1L, 2L);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
