package io.diffq.worker.consumer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads back, with a consumer of its own outside the group (assigned, never committing), the job ids of a
 * partition's records before an offset: from the first written at or after a time, and at most
 * {@link OffsetLedger#REMEMBERED_IDS} records. Bounded in time: a broker that does not answer costs the
 * taking-over worker at most {@code limit}, after which what was read is used. Used from one loop's thread.
 */
final class PartitionHistory implements JobLoop.History {

    private static final Logger log = LoggerFactory.getLogger(PartitionHistory.class);

    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration RETRY_PAUSE = Duration.ofMillis(500);

    private final Supplier<Consumer<String, byte[]>> consumers;
    private final Duration limit;
    private Consumer<String, byte[]> consumer;

    /**
     * @param consumers makes the consumer (no group, {@code auto.offset.reset=earliest}), when first needed
     * @param limit     the longest one read-back may take
     */
    PartitionHistory(Supplier<Consumer<String, byte[]>> consumers, Duration limit) {
        this.consumers = consumers;
        this.limit = limit;
    }

    @Override
    public List<JobLoop.Earlier> before(TopicPartition tp, long end, long since) {
        long deadline = System.nanoTime() + limit.toNanos();
        List<JobLoop.Earlier> read = new ArrayList<>();
        while (true) {
            try {
                read.clear();
                boolean complete = read(tp, end, since, deadline, read);
                if (!complete) {
                    log.warn("read back {} records of {} before offset {} within {}, not all: a repeat of a job "
                            + "older than those would run", read.size(), tp, end, limit);
                }
                return read;
            } catch (KafkaException e) {
                if (System.nanoTime() - deadline >= 0) {
                    log.warn("could not read back {} before offset {} within {}: {}; a repeat of a job finished "
                            + "there would run", tp, end, limit, e.toString());
                    return read;
                }
                sleep(RETRY_PAUSE);
            } finally {
                if (consumer != null) {
                    consumer.unsubscribe();
                }
            }
        }
    }

    /** Reads into {@code read}; false when the deadline came first. */
    private boolean read(TopicPartition tp, long end, long since, long deadline, List<JobLoop.Earlier> read) {
        if (consumer == null) {
            consumer = consumers.get();
        }
        consumer.assign(List.of(tp));
        Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
        OffsetAndTimestamp first = consumer.offsetsForTimes(Map.of(tp, since), left).get(tp);
        long start = Math.max(first == null ? end : Math.min(first.offset(), end), end - OffsetLedger.REMEMBERED_IDS);
        long beginning = consumer.beginningOffsets(List.of(tp), left).getOrDefault(tp, 0L);
        start = Math.max(start, beginning);
        if (start >= end) {
            return true;
        }
        consumer.seek(tp, start);
        while (System.nanoTime() - deadline < 0) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(POLL)) {
                if (r.offset() < end) {
                    read.add(new JobLoop.Earlier(r.key(), r.offset(), r.timestamp()));
                }
            }
            if (consumer.position(tp) >= end) {
                return true;
            }
        }
        return false;
    }

    private static void sleep(Duration pause) {
        try {
            Thread.sleep(pause.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (consumer != null) {
            consumer.close();
        }
    }
}
