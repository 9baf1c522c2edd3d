package io.diffq.worker.consumer;

import static org.apache.kafka.clients.consumer.AcknowledgeType.ACCEPT;
import static org.apache.kafka.clients.consumer.AcknowledgeType.RELEASE;
import static org.apache.kafka.clients.consumer.AcknowledgeType.RENEW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.kafka.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The share-group loop against a {@link FakeShareConsumer}: which acknowledgement each way a delivery can end
 * gets, when a running job is renewed, what the lease of a job knows, and how a poll's jobs are put in batches.
 * Time is a clock the test moves where the lease is concerned; the waits are on conditions.
 */
class JobLoopTests {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int LOCK_MS = 10_000;

    /** A nanosecond clock that runs with real time, plus whatever the test adds. */
    private final AtomicLong skew = new AtomicLong();
    private final FakeShareConsumer consumer = new FakeShareConsumer(LOCK_MS);
    private final List<List<JobLoop.Job>> delivered = new CopyOnWriteArrayList<>();
    private final List<String> handedBack = new CopyOnWriteArrayList<>();
    private Thread thread;
    private JobLoop loop;

    @AfterEach
    void stop() throws InterruptedException {
        if (loop != null) {
            loop.stop();
            thread.join(WAIT.toMillis());
        }
    }

    private long now() {
        return System.nanoTime() + skew.get();
    }

    /** Admits every record as its delivery count, except keys starting with "repeat" (skipped) or "bad" (throws). */
    private final JobLoop.Admission admission = new JobLoop.Admission() {
        @Override
        public JobLoop.Admitted admit(ConsumerRecord<String, byte[]> record, int delivery) {
            if (record.key().startsWith("repeat")) {
                return JobLoop.Admitted.skip("a repeat");
            }
            if (record.key().startsWith("bad")) {
                throw new IllegalStateException("cannot tell");
            }
            return JobLoop.Admitted.run(delivery == 7 ? 5 : delivery);
        }

        @Override
        public CompletableFuture<Void> handBack(ConsumerRecord<String, byte[]> record, int delivery, int attempt) {
            handedBack.add(record.key() + "@" + delivery + "/attempt " + attempt);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void finished(ConsumerRecord<String, byte[]> record) {
            finished.add(record.key());
        }
    };
    private final List<String> finished = new CopyOnWriteArrayList<>();

    private void start(Function<JobLoop.Job, JobLoop.Outcome> outcome, int maxBatch) {
        start((jobs, handBack) -> {
            delivered.add(jobs);
            List<JobLoop.Outcome> out = new ArrayList<>();
            jobs.forEach(j -> out.add(outcome.apply(j)));
            return out;
        }, maxBatch);
    }

    private void start(JobLoop.Deliverer deliverer, int maxBatch) {
        loop = new JobLoop("test", consumer, admission, deliverer, () -> false,
                new JobLoop.Timing(Duration.ofMillis(20), Duration.ofMillis(10), Duration.ofMillis(50)), maxBatch,
                r -> new String(r.value()).charAt(0), 8, this::now);
        thread = new Thread(loop);
        thread.start();
    }

    /** Stops the loop while it waits in its next poll, which then returns {@code record}. */
    private void stopDuringAPollThatBrings(ConsumerRecord<String, byte[]> record) {
        consumer.duringPoll = () -> {
            loop.stop();
            consumer.offer(record);
        };
    }

    private void awaitAcks(long offset, AcknowledgeType last) {
        await().atMost(WAIT).until(() -> {
            List<AcknowledgeType> acks = consumer.acksOf(offset);
            return !acks.isEmpty() && acks.get(acks.size() - 1) == last;
        });
    }

    /**
     * Two consumers of one device take turns: the second acquires nothing while the first one's model runs, and
     * acquires and runs the next job while the first one's writes are still on their way; the first one's
     * acknowledgement goes out without waiting for its next turn.
     */
    @Test
    void aDevicesSecondConsumerTakesTheNextJobWhileTheFirstOnesWritesAreOnTheirWay() throws Exception {
        FakeShareConsumer second = new FakeShareConsumer(LOCK_MS);
        DeviceGate gate = new DeviceGate();
        java.util.concurrent.ExecutorService device = JobLoop.deviceThread("test");
        java.util.concurrent.CountDownLatch modelOfA = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean aDrawing = new java.util.concurrent.atomic.AtomicBoolean();
        CompletableFuture<Void> writesOfA = new CompletableFuture<>();
        JobLoop.Deliverer deliverer = (jobs, handBack) -> {
            delivered.add(jobs);
            if (jobs.get(0).record().key().equals("a")) {
                aDrawing.set(true);
                try {
                    modelOfA.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                aDrawing.set(false);
                return List.of(JobLoop.Outcome.written(writesOfA));
            }
            return List.of(JobLoop.Outcome.written(CompletableFuture.completedFuture(null)));
        };
        JobLoop.Timing timing = new JobLoop.Timing(Duration.ofMillis(20), Duration.ofMillis(10), Duration.ofMillis(50));
        loop = new JobLoop("first", Topics.JOBS, consumer, admission, deliverer, () -> false, timing, 1, r -> "", 8, this::now,
                device, gate, true);
        JobLoop other = new JobLoop("second", Topics.JOBS, second, admission, deliverer, () -> false, timing, 1, r -> "", 8,
                this::now, device, gate, true);
        second.watched = aDrawing::get;
        consumer.watched = () -> true;
        thread = new Thread(loop);
        Thread otherThread = new Thread(other);
        // The first consumer takes the device's turn and keeps it while idle; the second waits for it.
        thread.start();
        await().atMost(WAIT).until(() -> consumer.pollsWhile.get() >= 1);
        otherThread.start();
        try {
            await().atMost(WAIT).until(() -> gate.waiting() >= 1);
            consumer.offer(FakeShareConsumer.record(0, "a", 1));
            await().atMost(WAIT).until(aDrawing::get);
            second.offer(FakeShareConsumer.record(1, "b", 1));
            // The second consumer wants the device: it waits for its turn and does not poll meanwhile.
            await().atMost(WAIT).until(() -> gate.waiting() >= 1);
            modelOfA.countDown();

            await().atMost(WAIT).until(() -> delivered.stream().anyMatch(jobs -> jobs.get(0).record().key()
                    .equals("b")));
            assertThat(writesOfA).as("a's writes, still on their way when b started").isNotDone();
            awaitAcksOf(second, 1, ACCEPT);
            assertThat(second.pollsWhile.get()).as("polls of the second consumer while a's model ran").isZero();

            writesOfA.complete(null);
            awaitAcks(0, ACCEPT);
            // Sent by a commit, not held back until the first consumer's next turn.
            await().atMost(WAIT).until(() -> consumer.commits.get() >= 1);
        } finally {
            other.stop();
            otherThread.join(WAIT.toMillis());
            device.shutdownNow();
        }
    }

    /**
     * With nothing to do, the consumer holding a device's turn keeps it: the others do not poll, so none has a fetch
     * in flight in which a job could land while it waits for the turn (KAFKA-20015; handing the turn on after every
     * empty poll cost 233 ms at p50 for an idle job). Held idle for {@code handOverIdle}, the turn moves on (each
     * consumer must poll within {@code max.poll.interval.ms}); the consumers then take turns poll by poll, since the
     * one that gave it up may be fetching, until a job comes.
     */
    @Test
    void anIdleConsumerKeepsItsDevicesTurnSoTheOtherHasNoFetchInFlight() throws Exception {
        FakeShareConsumer second = new FakeShareConsumer(LOCK_MS);
        DeviceGate gate = new DeviceGate();
        java.util.concurrent.ExecutorService device = JobLoop.deviceThread("test");
        JobLoop.Timing timing = new JobLoop.Timing(Duration.ofMillis(20), Duration.ofMillis(10), Duration.ofMillis(50),
                Duration.ofHours(1));
        JobLoop.Deliverer deliverer = (jobs, handBack) -> {
            delivered.add(jobs);
            return List.of(JobLoop.Outcome.written(CompletableFuture.completedFuture(null)));
        };
        consumer.watched = () -> true;
        second.watched = () -> true;
        loop = new JobLoop("first", Topics.JOBS, consumer, admission, deliverer, () -> false, timing, 1, r -> "", 8, this::now,
                device, gate, true);
        JobLoop other = new JobLoop("second", Topics.JOBS, second, admission, deliverer, () -> false, timing, 1, r -> "", 8,
                this::now, device, gate, true);
        thread = new Thread(loop);
        Thread otherThread = new Thread(other);
        thread.start();
        otherThread.start();
        try {
            await().atMost(WAIT).until(() -> consumer.pollsWhile.get() + second.pollsWhile.get() >= 10);
            assertThat(Math.min(consumer.pollsWhile.get(), second.pollsWhile.get()))
                    .as("polls of the consumer without the turn (first %s, second %s)", consumer.pollsWhile.get(),
                            second.pollsWhile.get())
                    .isZero();

            skew.addAndGet(Duration.ofHours(1).toNanos());
            await().atMost(WAIT).until(() -> Math.min(consumer.pollsWhile.get(), second.pollsWhile.get()) >= 3);
            second.offer(FakeShareConsumer.record(0, "x", 1));
            awaitAcksOf(second, 0, ACCEPT);
        } finally {
            other.stop();
            otherThread.join(WAIT.toMillis());
            device.shutdownNow();
        }
    }

    private static void awaitAcksOf(FakeShareConsumer c, long offset, AcknowledgeType last) {
        await().atMost(WAIT).until(() -> {
            List<AcknowledgeType> acks = c.acksOf(offset);
            return !acks.isEmpty() && acks.get(acks.size() - 1) == last;
        });
    }

    @Test
    void aJobIsAcceptedOnlyOnceItsTerminalEventIsWrittenAndRenewedUntilThen() {
        CompletableFuture<Void> written = new CompletableFuture<>();
        start(job -> JobLoop.Outcome.written(written), 1);
        consumer.offer(FakeShareConsumer.record(0, "a", 1));

        await().atMost(WAIT).until(() -> consumer.acksOf(0).contains(RENEW));
        assertThat(consumer.acksOf(0)).doesNotContain(ACCEPT, RELEASE);
        assertThat(finished).as("remembered as run to its end").isEmpty();
        written.complete(null);
        awaitAcks(0, ACCEPT);
        assertThat(finished).containsExactly("a");
        assertThat(consumer.acksOf(0)).filteredOn(t -> t != RENEW).containsExactly(ACCEPT);
        assertThat(delivered).hasSize(1);
        assertThat(delivered.get(0).get(0).attempt()).isEqualTo(1);
    }

    @Test
    void aRenewalTheBrokerConfirmsExtendsTheLeaseAndOneItRefusesEndsIt() {
        CompletableFuture<Void> written = new CompletableFuture<>();
        start(job -> JobLoop.Outcome.written(written), 1);
        consumer.offer(FakeShareConsumer.record(0, "a", 1));
        await().atMost(WAIT).until(() -> !delivered.isEmpty());
        Lease lease = delivered.get(0).get(0).lease();
        assertThat(lease.held()).isTrue();

        // Past the lock, less the margin, since the poll: not surely held, until a renewal is confirmed.
        skew.addAndGet(Duration.ofMillis(LOCK_MS).minus(Lease.MARGIN).toNanos());
        assertThat(lease.held()).isFalse();
        await().atMost(WAIT).until(lease::held);

        consumer.refuseAcknowledgements();
        await().atMost(WAIT).until(() -> !lease.held());
        written.complete(null);
    }

    /**
     * The consumer returns a record whose renewal the broker refused no more (a broker restart, fault campaign
     * 6e888ff seed 5): the loop forgets it, so a stop ends the loop though the job's run never reports back.
     */
    @Test
    void aRecordWhoseRenewalWasRefusedIsNoLongerInHandSoAStopEndsTheLoop() throws InterruptedException {
        consumer.redeliverReleased = true;
        start(job -> JobLoop.Outcome.written(new CompletableFuture<>()), 1);
        consumer.offer(FakeShareConsumer.record(0, "a", 1));
        await().atMost(WAIT).until(() -> consumer.acksOf(0).contains(RENEW));
        consumer.refuseAcknowledgements();
        await().atMost(WAIT).until(() -> !delivered.get(0).get(0).lease().held());

        // Stopped while it waits in a poll that returns the next job: handed back once, and the loop ends.
        stopDuringAPollThatBrings(FakeShareConsumer.record(1, "b", 1));
        thread.join(WAIT.toMillis());
        assertThat(thread.isAlive()).as("the loop ended").isFalse();
        assertThat(consumer.acksOf(0)).containsOnly(RENEW);
        assertThat(handedBack).containsExactly("b@1/attempt 0");
    }

    /**
     * A record no poll returned for a whole lock is not this consumer's any more, however it was lost: a stopped
     * loop whose polls bring new jobs (handed back, and delivered again) does not wait for it.
     */
    @Test
    void aRecordThatStopsComingBackIsForgottenAfterALock() throws InterruptedException {
        consumer.redeliverReleased = true;
        start(job -> JobLoop.Outcome.written(new CompletableFuture<>()), 1);
        consumer.offer(FakeShareConsumer.record(0, "a", 1));
        await().atMost(WAIT).until(() -> consumer.acksOf(0).contains(RENEW));
        consumer.drop(0);
        skew.addAndGet(Duration.ofMillis(LOCK_MS + 1).toNanos());

        stopDuringAPollThatBrings(FakeShareConsumer.record(1, "b", 1));
        thread.join(WAIT.toMillis());
        assertThat(thread.isAlive()).as("the loop ended").isFalse();
        assertThat(handedBack).containsExactly("b@1/attempt 0");
    }

    @Test
    void aRepeatIsAcceptedWithoutRunningAndAnUndecidableRecordIsReleased() {
        start(job -> JobLoop.Outcome.written(CompletableFuture.completedFuture(null)), 1);
        consumer.offer(FakeShareConsumer.record(0, "repeat", 1));
        consumer.offer(FakeShareConsumer.record(1, "bad", 1));
        consumer.offer(FakeShareConsumer.record(2, "a", 1));

        awaitAcks(2, ACCEPT);
        assertThat(consumer.acksOf(0)).containsExactly(ACCEPT);
        assertThat(consumer.acksOf(1)).containsExactly(RELEASE);
        assertThat(delivered).extracting(jobs -> jobs.get(0).record().key()).containsExactly("a");
    }

    /** Found running: a worker whose broker was gone spun two cores at 60 % each, polling without pause. */
    @Test
    void pollsThatComeBackAtOnceWithNothingArePaced() throws InterruptedException {
        consumer.away = true;
        start(job -> JobLoop.Outcome.written(CompletableFuture.completedFuture(null)), 1);
        Thread.sleep(1_000);
        // Three quick polls, then at most one per AWAY_PAUSE (100 ms): about a dozen a second, not millions.
        assertThat(consumer.polls.get()).isBetween(3, 40);
    }

    @Test
    void aRecordInItsLastDeliveryRunsEvenWhenItCannotBeAdmitted() {
        start(job -> JobLoop.Outcome.written(CompletableFuture.completedFuture(null)), 1);
        consumer.offer(FakeShareConsumer.record(0, "bad-but-last", 8));

        awaitAcks(0, ACCEPT);
        assertThat(delivered).extracting(jobs -> jobs.get(0).attempt() + "/" + jobs.get(0).lastDelivery())
                .containsExactly("8/true");
    }

    @Test
    void aJobThatMayRunAgainOrWhoseWritesFailedIsReleased() {
        start(job -> job.record().key().equals("again") ? JobLoop.Outcome.runAgain("flaky")
                : JobLoop.Outcome.written(CompletableFuture.failedFuture(new IllegalStateException("broker gone"))),
                1);
        consumer.offer(FakeShareConsumer.record(0, "again", 1));
        consumer.offer(FakeShareConsumer.record(1, "lost-write", 1));

        awaitAcks(1, RELEASE);
        assertThat(consumer.acksOf(0)).containsExactly(RELEASE);
        assertThat(consumer.acksOf(1)).containsExactly(RELEASE);
    }

    @Test
    void theAttemptIsTheAdmissionsAndTheLastDeliveryTheBrokerMakesIsMarked() {
        start(job -> JobLoop.Outcome.written(CompletableFuture.completedFuture(null)), 1);
        consumer.offer(FakeShareConsumer.record(0, "a", 3));
        consumer.offer(FakeShareConsumer.record(1, "b", 8));

        awaitAcks(1, ACCEPT);
        assertThat(delivered).extracting(jobs -> jobs.get(0).attempt()).containsExactly(3, 8);
        assertThat(delivered).extracting(jobs -> jobs.get(0).lastDelivery()).containsExactly(false, true);
    }

    @Test
    void aJobHandedBackIsRecordedThenReleasedAndTheLoopEnds() throws InterruptedException {
        start(job -> JobLoop.Outcome.handBack(), 1);
        consumer.offer(FakeShareConsumer.record(0, "a", 7));

        thread.join(WAIT.toMillis());
        assertThat(thread.isAlive()).isFalse();
        // The attempt admission chose (5 for delivery 7 here), so that the next delivery runs it again.
        assertThat(handedBack).containsExactly("a@7/attempt 5");
        assertThat(consumer.acksOf(0)).containsExactly(RELEASE);
        assertThat(consumer.closed).isTrue();
    }

    @Test
    void compatibleJobsOfOnePollRunAsOneBatchOthersInTheirOwn() {
        // The batch key is the value's first letter: x x y x x x, all in hand before the first poll; the last one
        // is delivered again (its batch failed) and runs alone.
        for (int i = 0; i < 6; i++) {
            consumer.offer(FakeShareConsumer.record(i, i == 2 ? "y" + i : "x" + i, i == 5 ? 2 : 1));
        }
        start(job -> JobLoop.Outcome.written(CompletableFuture.completedFuture(null)), 3);

        awaitAcks(5, ACCEPT);
        await().atMost(WAIT).until(() -> delivered.size() == 4);
        assertThat(delivered).extracting(jobs -> jobs.stream().map(j -> j.record().key()).toList())
                .containsExactly(List.of("x0", "x1", "x3"), List.of("x4"), List.of("y2"), List.of("x5"));
        for (long offset = 0; offset < 6; offset++) {
            assertThat(consumer.acksOf(offset)).containsExactly(ACCEPT);
        }
    }

    @Test
    void aLoopStoppedWithAJobInHandTakesNoOtherAndEndsOnceItIsWritten() throws InterruptedException {
        CompletableFuture<Void> written = new CompletableFuture<>();
        start(job -> JobLoop.Outcome.written(written), 1);
        consumer.offer(FakeShareConsumer.record(0, "a", 1));
        await().atMost(WAIT).until(() -> !delivered.isEmpty());
        loop.stop();
        consumer.offer(FakeShareConsumer.record(1, "b", 1));
        int renewed = consumer.acksOf(0).size();
        await().atMost(WAIT).until(() -> consumer.acksOf(0).size() >= renewed + 2);
        written.complete(null);

        thread.join(WAIT.toMillis());
        assertThat(thread.isAlive()).isFalse();
        assertThat(consumer.acksOf(0)).filteredOn(t -> t != RENEW).containsExactly(ACCEPT);
        assertThat(consumer.acksOf(1)).as("never acquired").isEmpty();
        assertThat(handedBack).isEmpty();
        assertThat(delivered).hasSize(1);
    }

    @Test
    void recordsAPollReturnsAfterAStopAreHandedBackUnrun() throws InterruptedException {
        start(job -> JobLoop.Outcome.written(CompletableFuture.completedFuture(null)), 1);
        // The stop comes while the loop waits in a poll, which then returns a job.
        stopDuringAPollThatBrings(FakeShareConsumer.record(0, "a", 1));

        thread.join(WAIT.toMillis());
        assertThat(thread.isAlive()).isFalse();
        assertThat(consumer.acksOf(0)).containsExactly(RELEASE);
        assertThat(handedBack).as("never admitted: no attempt started").containsExactly("a@1/attempt 0");
        assertThat(delivered).isEmpty();
    }
}
