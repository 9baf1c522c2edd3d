package io.diffq.worker.consumer;

import io.diffq.common.kafka.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.ShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One device's loop in the {@code diffq-workers} share group: acquire as many job records as the device takes
 * at once ({@code record_limit}, {@code max.poll.records} = {@code max-batch}), admit each (a repeat or an
 * already finished job is accepted without running), run them on the device's thread, and acknowledge each:
 * <ul>
 * <li>{@code ACCEPT} once its terminal event (and image) is acknowledged by the broker;</li>
 * <li>{@code RELEASE} when another attempt may fix it, when its writes failed, or when it is handed back on
 *     shutdown (the hand-back is recorded first, so it does not count as an attempt); the broker delivers it
 *     again, to any worker, with a higher delivery count;</li>
 * <li>{@code RENEW} every {@link Timing#renewEvery} while it runs, so no other worker takes a running job.</li>
 * </ul>
 * No broker round trip stands between a job's acquisition and its start: the broker counts deliveries. A worker
 * that dies loses its locks; its jobs go to other workers as the next delivery once the lock runs out. Every
 * record gets its acknowledgement before the next poll, as explicit mode requires; a renewed record comes back
 * on every later poll, and {@link #inHand} tells it from a new one. Renewals are sent, and their answer awaited,
 * before that poll ({@link #renew}), so a busy worker's polls acquire no job it cannot start; a record that
 * stops coming back (its renewal refused) is no longer in hand.
 */
final class JobLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(JobLoop.class);

    /**
     * The lock assumed while the consumer does not know the broker's: the shortest a broker allows by default
     * ({@code group.share.min.record.lock.duration.ms}), so the lease never outlives the real lock.
     */
    static final Duration DEFAULT_LOCK = Duration.ofSeconds(15);
    /** The pause after polls that come back empty without waiting (the broker is away). */
    static final Duration AWAY_PAUSE = Duration.ofMillis(100);

    /**
     * One delivery of a job, admitted to run.
     *
     * @param attempt      from 1: deliveries so far less those handed back on shutdown
     * @param lease        while held, this worker may write the job's state
     * @param lastDelivery the broker delivers the record no more after this one: it must not be released
     */
    record Job(ConsumerRecord<String, byte[]> record, int attempt, Lease lease, boolean lastDelivery) {
    }

    /**
     * What one job's delivery came to: its writes on their way (the future completes when its terminal event is
     * acknowledged, fails when a write fails), another attempt to run (a failure another attempt may fix), handed
     * back unfinished on shutdown, or given up because its lease ran out (nothing more was written).
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
     * Decides, before a record runs, whether it runs and as which attempt.
     */
    interface Admission {

        /**
         * @param delivery the broker's delivery count of the record, from 1
         * @return the attempt to run, or why it is finished without running
         */
        Admitted admit(ConsumerRecord<String, byte[]> record, int delivery);

        /**
         * Records that the delivery goes back unfinished on shutdown, so the next one runs the same attempt; the
         * future completes once that is on the broker.
         *
         * @param attempt the attempt it was admitted to run, 0 when it was not admitted
         */
        CompletableFuture<Void> handBack(ConsumerRecord<String, byte[]> record, int delivery, int attempt);

        /** Records that this worker ran the record's job to its terminal event, now written. */
        default void finished(ConsumerRecord<String, byte[]> record) {
        }
    }

    /** An admission's answer: run as {@code attempt}, or finish without running because {@code skip}. */
    record Admitted(int attempt, String skip) {

        static Admitted run(int attempt) {
            return new Admitted(attempt, null);
        }

        static Admitted skip(String because) {
            return new Admitted(0, because);
        }
    }

    /**
     * @param pollTimeout how long one poll waits for a job (and how soon an idle loop notices a stop)
     * @param backOff     the pause after a failed poll
     * @param renewEvery  how often a running job's lock is renewed; at most half the broker's lock is used
     * @param handOverIdle with consumers sharing a device: how long an idle holder keeps the device's turn before
     *                     it lets the others poll (each must poll within {@code max.poll.interval.ms})
     */
    record Timing(Duration pollTimeout, Duration backOff, Duration renewEvery, Duration handOverIdle) {

        Timing(Duration pollTimeout, Duration backOff, Duration renewEvery) {
            this(pollTimeout, backOff, renewEvery, HAND_OVER_IDLE);
        }
    }

    /** How long an idle holder of a shared device's turn keeps it (see {@link JobConsumers}' poll interval). */
    static final Duration HAND_OVER_IDLE = Duration.ofMinutes(10);
    /** The poll while another consumer of the device may hold a job without the turn. */
    static final Duration SHORT_POLL = Duration.ofMillis(20);

    private record Acquired(String topic, int partition, long offset) {

        static Acquired of(ConsumerRecord<?, ?> r) {
            return new Acquired(r.topic(), r.partition(), r.offset());
        }

        @Override
        public String toString() {
            return topic + "-" + partition + "@" + offset;
        }
    }

    /** An acquired record this loop has in hand: its lease and, once it runs, where its outcome comes from. */
    private static final class InHand {

        final Lease lease;
        /** How it ends without running (skipped, released on stop), or null when it runs. */
        AcknowledgeType decided;
        /** The attempt it was admitted to run, 0 until then. */
        int attempt;
        CompletableFuture<List<Outcome>> outcomes;
        int index;
        /** When the renewal waiting for the broker's answer was sent. */
        long renewSentAt;
        /** When the last poll that returned it began. */
        long seenAt;

        InHand(Lease lease) {
            this.lease = lease;
        }
    }

    private final String name;
    private final String topic;
    private final ShareConsumer<String, byte[]> consumer;
    private final Admission admission;
    private final Deliverer deliverer;
    private final BooleanSupplier handBack;
    private final Timing timing;
    private final Batches batches;
    private final int deliveryLimit;
    private final LongSupplier nanoClock;
    private final ExecutorService device;
    private final boolean ownsDevice;
    private final DeviceGate gate;
    /** Whether the device's other consumers may wait for its turn: then acknowledgements go out at once. */
    private final boolean gateShared;
    /** Whether this loop holds the device's turn (released by the device's thread once the model is done). */
    private final AtomicBoolean holdsGate = new AtomicBoolean();
    /** The model runs of the last poll that started any; done once the device has drawn them all. */
    private volatile CompletableFuture<Void> model = CompletableFuture.completedFuture(null);
    private final Map<Acquired, InHand> inHand = new HashMap<>();
    private volatile boolean stopping;
    /** Polls in a row that came back empty at once. */
    private int idleWithoutWaiting;
    /** When this loop last took the device's turn or polled records while holding it. */
    private long busyAt;

    /**
     * @param deliveryLimit the share group's {@code share.delivery.count.limit}: the last delivery the broker
     *                      makes of a record
     * @param batchKey      records whose keys are equal may share a batch of at most {@code maxBatch}
     */
    JobLoop(String name, ShareConsumer<String, byte[]> consumer, Admission admission, Deliverer deliverer,
            BooleanSupplier handBack, Timing timing, int maxBatch,
            Function<ConsumerRecord<String, byte[]>, Object> batchKey, int deliveryLimit, LongSupplier nanoClock) {
        this(name, Topics.JOBS, consumer, admission, deliverer, handBack, timing, maxBatch, batchKey, deliveryLimit, nanoClock,
                null, new DeviceGate(), false);
    }

    /**
     * @param device     the device's thread, shared by its consumers' loops (and shut down by its owner); null:
     *                   this loop's own
     * @param gate       the device's turn, shared by its consumers' loops
     * @param gateShared whether other loops share the gate
     * @param topic      the topic the loop takes jobs from: {@code diffq.jobs} or its pool's lane
     */
    JobLoop(String name, String topic, ShareConsumer<String, byte[]> consumer, Admission admission, Deliverer deliverer,
            BooleanSupplier handBack, Timing timing, int maxBatch,
            Function<ConsumerRecord<String, byte[]>, Object> batchKey, int deliveryLimit, LongSupplier nanoClock,
            ExecutorService device, DeviceGate gate, boolean gateShared) {
        this.name = name;
        this.topic = topic;
        this.consumer = consumer;
        this.admission = admission;
        this.deliverer = deliverer;
        this.handBack = handBack;
        this.timing = timing;
        this.batches = new Batches(maxBatch, batchKey);
        this.deliveryLimit = deliveryLimit;
        this.nanoClock = nanoClock;
        this.ownsDevice = device == null;
        this.device = device != null ? device
                : Executors.newSingleThreadExecutor(r -> new Thread(r, "diffq-device-" + name));
        this.gate = gate;
        this.gateShared = gateShared;
    }

    /** Creates the thread a device's loops share. */
    static ExecutorService deviceThread(String device) {
        return Executors.newSingleThreadExecutor(r -> new Thread(r, "diffq-device-" + device));
    }

    /** Asks the loop to stop after the jobs in hand (which the hand-back supplier may cut short). */
    void stop() {
        stopping = true;
    }

    @Override
    public void run() {
        try {
            consumer.setAcknowledgementCommitCallback(this::committed);
            consumer.subscribe(List.of(topic));
            while (!stopping || !inHand.isEmpty()) {
                // New jobs only in the device's turn (when its consumers share one); a loop with jobs in hand
                // holds it, or its model is done.
                if (gateShared && inHand.isEmpty() && !holdsGate.get()) {
                    if (!gate.take(() -> stopping)) {
                        break;
                    }
                    holdsGate.set(true);
                    busyAt = nanoClock.getAsLong();
                }
                long polledAt = nanoClock.getAsLong();
                ConsumerRecords<String, byte[]> records;
                try {
                    records = consumer.poll(gateShared && gate.othersFetching(this)
                            && SHORT_POLL.compareTo(timing.pollTimeout()) < 0 ? SHORT_POLL : timing.pollTimeout());
                } catch (KafkaException e) {
                    log.warn("{}: {}; trying again in {}", name, e.getMessage(), timing.backOff());
                    if (gateShared && !modelRunning()) {
                        gate.fetching(this, true);
                        giveGate();
                    }
                    pause();
                    continue;
                }
                start(records, polledAt);
                acknowledge(records);
                if (gateShared) {
                    gate.fetching(this, records.isEmpty());
                    if (!records.isEmpty()) {
                        busyAt = polledAt;
                    }
                    if (inHand.isEmpty()) {
                        settleModel();
                    }
                    if (!modelRunning() && (!records.isEmpty() || gate.othersFetching(this)
                            || nanoClock.getAsLong() - busyAt >= timing.handOverIdle().toNanos())) {
                        // The model has drawn what this turn polled, another consumer may hold a job, or this one
                        // has held the turn idle long enough: the next consumer's turn. An idle holder keeps it.
                        giveGate();
                    }
                    if (inHand.isEmpty() && !records.isEmpty()) {
                        // The next poll waits for the device's turn: the acknowledgements must not wait with it.
                        consumer.commitAsync();
                    }
                }
                if (stopping && records.isEmpty()) {
                    break;
                }
                idleWithoutWaiting = records.isEmpty() && inHand.isEmpty()
                        && nanoClock.getAsLong() - polledAt < timing.pollTimeout().toNanos() / 10
                        ? idleWithoutWaiting + 1 : 0;
                if (idleWithoutWaiting >= 3) {
                    // The consumer answers at once with nothing while it cannot reach the group's coordinator (a
                    // share consumer's poll does not wait then): without a pause the loop would spin on a core.
                    pause(AWAY_PAUSE);
                }
            }
        } finally {
            gate.fetching(this, false);
            giveGate();
            if (ownsDevice) {
                device.shutdownNow();
            }
            consumer.close();
        }
    }

    /**
     * Every job of the turn is acknowledged, so its model is done; the device's thread may still be completing
     * the run's future: wait for that instant (briefly, in case a job was let go unfinished) rather than race it.
     */
    private void settleModel() {
        try {
            model.get(timing.backOff().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        } catch (ExecutionException | TimeoutException e) {
            // failed: done all the same; still running: modelRunning() keeps the turn
        }
    }

    /** Whether a model run this loop started has not ended yet. */
    private boolean modelRunning() {
        return !model.isDone();
    }

    private void giveGate() {
        if (holdsGate.compareAndSet(true, false)) {
            gate.give();
        }
    }

    /**
     * Admits the records this loop does not have in hand yet and starts those that run, in batches. A renewed
     * record comes back on every poll; it is in hand already.
     */
    private void start(ConsumerRecords<String, byte[]> records, long polledAt) {
        Duration lock = consumer.acquisitionLockTimeoutMs().map(ms -> Duration.ofMillis(ms)).orElse(DEFAULT_LOCK);
        Batches.Forming forming = batches.forming();
        List<CompletableFuture<?>> drawing = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            Acquired key = Acquired.of(r);
            InHand known = inHand.get(key);
            if (known != null) {
                known.seenAt = polledAt;
                continue;
            }
            InHand held = new InHand(new Lease(nanoClock, polledAt, lock));
            held.seenAt = polledAt;
            inHand.put(key, held);
            int delivery = r.deliveryCount().map(Short::intValue).orElse(1);
            log.debug("{}: acquired {} (delivery {})", name, at(r), delivery);
            boolean last = delivery >= deliveryLimit;
            // The last delivery is never released: the broker would archive the job with no state written.
            if (stopping && !last) {
                handBack(r, delivery, held);
                continue;
            }
            Admitted admitted;
            try {
                admitted = admission.admit(r, delivery);
            } catch (RuntimeException e) {
                if (!last) {
                    log.warn("{}: could not admit {}: {}; released, it comes again", name, at(r), e.toString());
                    held.decided = AcknowledgeType.RELEASE;
                    continue;
                }
                log.warn("{}: could not admit {} ({}), its last delivery: it runs as attempt {}", name, at(r),
                        e.toString(), delivery);
                admitted = Admitted.run(delivery);
            }
            if (admitted.skip() != null) {
                log.info("{}: {} finished without running: {}", name, at(r), admitted.skip());
                held.decided = AcknowledgeType.ACCEPT;
                continue;
            }
            held.attempt = admitted.attempt();
            forming.add(new Job(r, admitted.attempt(), held.lease, last));
        }
        for (List<Job> batch : forming.batches()) {
            CompletableFuture<List<Outcome>> outcomes = CompletableFuture.supplyAsync(
                    () -> deliverer.deliver(batch, handBack), device);
            drawing.add(outcomes);
            for (int i = 0; i < batch.size(); i++) {
                InHand held = inHand.get(Acquired.of(batch.get(i).record()));
                held.outcomes = outcomes;
                held.index = i;
            }
        }
        if (gateShared && !drawing.isEmpty()) {
            // Once the model has drawn them (their writes on their way), the device's next consumer may poll.
            model = CompletableFuture.allOf(drawing.toArray(CompletableFuture[]::new));
            model.whenComplete((done, failed) -> giveGate());
        }
    }

    /**
     * Every record of the poll gets its acknowledgement before the next poll: how it ended once its job is done,
     * RENEW while it still runs after {@link Timing#renewEvery}.
     */
    private void acknowledge(ConsumerRecords<String, byte[]> records) {
        Duration lock = consumer.acquisitionLockTimeoutMs().map(ms -> Duration.ofMillis(ms)).orElse(DEFAULT_LOCK);
        Duration every = timing.renewEvery().compareTo(lock.dividedBy(2)) < 0 ? timing.renewEvery() : lock.dividedBy(2);
        long renewAt = nanoClock.getAsLong() + every.toNanos();
        boolean renewing = false;
        for (ConsumerRecord<String, byte[]> r : records) {
            Acquired key = Acquired.of(r);
            InHand held = inHand.get(key);
            AcknowledgeType type = held.decided != null ? held.decided : await(r, held, renewAt);
            if (type == AcknowledgeType.RENEW) {
                held.renewSentAt = nanoClock.getAsLong();
                renewing = true;
            } else {
                inHand.remove(key);
            }
            consumer.acknowledge(r, type);
        }
        if (renewing) {
            renew(every);
        }
        forgetGone(lock);
    }

    /**
     * Sends the acknowledgements of this poll, renewals among them, and waits for the broker's answer (at most
     * {@code wait}), so the next poll finds the renewed records back in flight. A poll while a renewal is still
     * unanswered sends a share fetch too: it would acquire the next jobs for a worker whose device is busy, where
     * they would wait, locked, while other workers idle (and a stopping loop would hand them back on every
     * renewal, each time one delivery more, until the broker archived them unrun).
     */
    private void renew(Duration wait) {
        try {
            consumer.commitSync(wait);
        } catch (KafkaException e) {
            log.warn("{}: renewing the lock of the jobs in hand: {}; the lease ends with the lock unless a later "
                    + "renewal is confirmed", name, e.toString());
        }
    }

    /**
     * Forgets the records in hand that no poll returned for a whole lock: a renewed record comes back on every
     * poll, so one that does not is no longer this consumer's (its renewal was refused, or it was lost some other
     * way); its job, if still running, writes nothing more past its lease.
     */
    private void forgetGone(Duration lock) {
        long now = nanoClock.getAsLong();
        inHand.entrySet().removeIf(e -> {
            boolean gone = now - e.getValue().seenAt > lock.toNanos();
            if (gone) {
                log.warn("{}: {} has not come back for {}: no longer this consumer's", name, e.getKey(), lock);
                e.getValue().lease.lose();
            }
            return gone;
        });
    }

    private AcknowledgeType await(ConsumerRecord<String, byte[]> record, InHand held, long until) {
        try {
            Outcome outcome = held.outcomes.get(left(until), TimeUnit.NANOSECONDS).get(held.index);
            if (outcome.handedBack()) {
                stopping = true;
                int delivery = record.deliveryCount().map(Short::intValue).orElse(1);
                return handBack(record, delivery, held);
            }
            if (outcome.written() == null) {
                log.info("{}: {}", name, outcome.runAgainBecause());
                return AcknowledgeType.RELEASE;
            }
            outcome.written().get(left(until), TimeUnit.NANOSECONDS);
            admission.finished(record);
            return AcknowledgeType.ACCEPT;
        } catch (TimeoutException e) {
            return AcknowledgeType.RENEW;
        } catch (ExecutionException e) {
            log.warn("{}: {} failed to run or to write ({}); released, it runs again", name, at(record),
                    e.getCause().toString());
            return AcknowledgeType.RELEASE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
            return AcknowledgeType.RELEASE;
        }
    }

    /**
     * A record going back unfinished on shutdown: the hand-back is recorded (briefly waited for), then it is
     * released. Without the record the next delivery counts as one more attempt, which is all that is lost.
     */
    private AcknowledgeType handBack(ConsumerRecord<String, byte[]> record, int delivery, InHand held) {
        held.decided = AcknowledgeType.RELEASE;
        try {
            admission.handBack(record, delivery, held.attempt).get(timing.renewEvery().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("{}: could not record the hand-back of {} ({}); its next delivery counts as an attempt", name,
                    at(record), e.toString());
        }
        log.info("{}: handing {} back to the group unfinished", name, at(record));
        return AcknowledgeType.RELEASE;
    }

    /**
     * The broker's answer to acknowledgements (on this loop's thread, during poll): a renewal confirmed extends
     * the lease; any acknowledgement refused means the record may be another worker's now.
     */
    private void committed(Map<TopicIdPartition, Set<Long>> offsets, Exception failure) {
        if (failure != null) {
            log.warn("{}: the broker refused acknowledgements of {}: {}", name, offsets, failure.toString());
        }
        offsets.forEach((tip, set) -> set.forEach(offset -> {
            Acquired key = new Acquired(tip.topic(), tip.partition(), offset);
            InHand held = inHand.get(key);
            if (held == null) {
                return;
            }
            if (failure != null) {
                log.warn("{}: the broker refused an acknowledgement of {} ({}); the job may be another worker's now, "
                        + "this one writes no more of it", name, key, failure.toString());
                held.lease.lose();
                // The consumer returns it no more: kept in hand, it would keep a stopping loop polling for ever.
                inHand.remove(key);
            } else if (held.renewSentAt != 0) {
                held.lease.renewed(held.renewSentAt);
            }
        }));
    }

    private long left(long until) {
        return Math.max(0, until - nanoClock.getAsLong());
    }

    private static String at(ConsumerRecord<?, ?> record) {
        return Acquired.of(record).toString();
    }

    private void pause() {
        pause(timing.backOff());
    }

    private void pause(Duration pause) {
        try {
            Thread.sleep(pause.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        }
    }
}
