package io.diffq.worker.consumer;

import io.diffq.common.kafka.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.AcknowledgementCommitCallback;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockShareConsumer;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidRecordStateException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;

/**
 * A share consumer in explicit acknowledgement mode, as far as {@link JobLoop} uses one: it hands out the
 * records offered to it, returns a renewed record on every later poll (as the real consumer does, and then no
 * new record beside it), answers
 * acknowledgements through the commit callback during the next poll (refusing them all once told to), throws
 * when a poll comes before every record of the last one is acknowledged, and records every acknowledgement.
 */
final class FakeShareConsumer extends MockShareConsumer<String, byte[]> {

    /** One acknowledgement, in the order given. */
    record Ack(long offset, AcknowledgeType type) {
    }

    private static final Uuid TOPIC_ID = Uuid.randomUuid();

    private final BlockingQueue<ConsumerRecord<String, byte[]>> offered = new LinkedBlockingQueue<>();
    /** Records handed out and not yet ended, by offset. */
    private final Map<Long, ConsumerRecord<String, byte[]>> acquired = new LinkedHashMap<>();
    private final Map<Long, AcknowledgeType> pending = new HashMap<>();
    private List<ConsumerRecord<String, byte[]>> lastPoll = List.of();
    final List<Ack> acks = new CopyOnWriteArrayList<>();
    private final int lockMs;
    private AcknowledgementCommitCallback callback;
    private volatile boolean refuse;
    volatile boolean closed;
    /** Whether polls come back at once, as a share consumer's do while the broker is away. */
    volatile boolean away;
    final java.util.concurrent.atomic.AtomicInteger polls = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger commits = new java.util.concurrent.atomic.AtomicInteger();
    /** Checked at every poll: a poll while it holds is recorded in {@link #pollsWhile}. */
    volatile java.util.function.BooleanSupplier watched = () -> false;
    final java.util.concurrent.atomic.AtomicInteger pollsWhile = new java.util.concurrent.atomic.AtomicInteger();

    /** Whether a released record is offered again as its next delivery, as the broker does. */
    volatile boolean redeliverReleased;
    /** Run once, inside the next poll, before it looks for records. */
    volatile Runnable duringPoll;

    FakeShareConsumer(int lockMs) {
        this.lockMs = lockMs;
    }

    /** A job record at {@code offset} of partition 0, in its {@code delivery}th delivery. */
    static ConsumerRecord<String, byte[]> record(long offset, String key, int delivery) {
        return new ConsumerRecord<>(Topics.JOBS, 0, offset, 1_000L + offset, TimestampType.CREATE_TIME, -1, -1, key,
                key.getBytes(StandardCharsets.UTF_8), new RecordHeaders(), Optional.empty(),
                Optional.of((short) delivery));
    }

    void offer(ConsumerRecord<String, byte[]> record) {
        offered.add(record);
    }

    /** From now on the broker refuses every acknowledgement (the locks are gone). */
    void refuseAcknowledgements() {
        refuse = true;
    }

    /** Returns the record no more, with no word to the loop (as a lost share session would). */
    synchronized void drop(long offset) {
        acquired.remove(offset);
    }

    /** The acknowledgements of one record, in order. */
    List<AcknowledgeType> acksOf(long offset) {
        return acks.stream().filter(a -> a.offset() == offset).map(Ack::type).toList();
    }

    @Override
    public synchronized void subscribe(java.util.Collection<String> topics) {
    }

    @Override
    public void setAcknowledgementCommitCallback(AcknowledgementCommitCallback callback) {
        this.callback = callback;
    }

    @Override
    public Optional<Integer> acquisitionLockTimeoutMs() {
        return Optional.of(lockMs);
    }

    @Override
    public synchronized ConsumerRecords<String, byte[]> poll(Duration timeout) {
        for (ConsumerRecord<String, byte[]> r : lastPoll) {
            if (!pending.containsKey(r.offset())) {
                throw new IllegalStateException("record " + r.offset() + " of the last poll was not acknowledged");
            }
        }
        answerAcknowledgements();
        polls.incrementAndGet();
        if (watched.getAsBoolean()) {
            pollsWhile.incrementAndGet();
        }
        if (away) {
            lastPoll = List.of();
            return ConsumerRecords.empty();
        }
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>(acquired.values());
        Runnable during = duringPoll;
        duringPoll = null;
        if (during != null) {
            during.run();
        }
        if (!out.isEmpty()) {
            // Renewed records come back alone: the real consumer collects no new records while it has any.
            lastPoll = out;
            return new ConsumerRecords<>(Map.of(new TopicPartition(Topics.JOBS, 0), out), Map.of());
        }
        try {
            ConsumerRecord<String, byte[]> next = offered.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            while (next != null) {
                acquired.put(next.offset(), next);
                out.add(next);
                next = offered.poll();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lastPoll = out;
        return new ConsumerRecords<>(out.isEmpty() ? Map.of() : Map.of(new TopicPartition(Topics.JOBS, 0), out),
                Map.of());
    }

    private void answerAcknowledgements() {
        if (pending.isEmpty()) {
            return;
        }
        Set<Long> offsets = new java.util.TreeSet<>(pending.keySet());
        pending.forEach((offset, type) -> {
            if (type != AcknowledgeType.RENEW || refuse) {
                ConsumerRecord<String, byte[]> r = acquired.remove(offset);
                if (type == AcknowledgeType.RELEASE && redeliverReleased && r != null) {
                    offer(record(offset, r.key(), r.deliveryCount().orElse((short) 1) + 1));
                }
            }
        });
        pending.clear();
        if (callback != null) {
            callback.onComplete(Map.of(new TopicIdPartition(TOPIC_ID, 0, Topics.JOBS), offsets),
                    refuse ? new InvalidRecordStateException("the lock is gone") : null);
        }
    }

    @Override
    public synchronized void acknowledge(ConsumerRecord<String, byte[]> record, AcknowledgeType type) {
        pending.put(record.offset(), type);
        acks.add(new Ack(record.offset(), type));
    }

    /** Sends the acknowledgements given since the last poll, as the real consumer does. */
    @Override
    public synchronized void commitAsync() {
        commits.incrementAndGet();
        for (ConsumerRecord<String, byte[]> r : lastPoll) {
            if (!pending.containsKey(r.offset())) {
                throw new IllegalStateException("record " + r.offset() + " of the last poll was not acknowledged");
            }
        }
        answerAcknowledgements();
        lastPoll = List.of();
    }

    /** As {@link #commitAsync}, waiting for the answers (given at once). */
    @Override
    public synchronized Map<TopicIdPartition, Optional<org.apache.kafka.common.KafkaException>> commitSync(
            Duration timeout) {
        commitAsync();
        return Map.of();
    }

    @Override
    public synchronized void close() {
        closed = true;
    }
}
