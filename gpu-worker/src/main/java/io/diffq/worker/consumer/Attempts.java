package io.diffq.worker.consumer;

import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Counts the deliveries of a job in the group's committed offset itself: before a job runs, its worker
 * commits the job's own offset (the group's position does not move) with the attempt in the offset's
 * metadata. A worker that gets the job after the previous one died reads that metadata and knows this is
 * the next attempt — even when the job kills every worker that runs it.
 */
final class Attempts {

    private static final Pattern METADATA = Pattern.compile("diffq:attempt:(\\d+)@(\\d+)");

    private Attempts() {
    }

    /** Records the start of a delivery and returns its attempt number, from 1. */
    static int begin(Consumer<?, ?> consumer, ConsumerRecord<?, ?> record) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        int attempt = previous(consumer, tp, record.offset()) + 1;
        commit(consumer, tp, record.offset(), attempt);
        return attempt;
    }

    /** Takes back the attempt of a job handed back unfinished (a graceful shutdown), so it is not counted. */
    static void handBack(Consumer<?, ?> consumer, ConsumerRecord<?, ?> record, int attempt) {
        commit(consumer, new TopicPartition(record.topic(), record.partition()), record.offset(), attempt - 1);
    }

    private static int previous(Consumer<?, ?> consumer, TopicPartition tp, long offset) {
        OffsetAndMetadata committed = consumer.committed(Set.of(tp)).get(tp);
        if (committed == null || committed.offset() != offset || committed.metadata() == null) {
            return 0;
        }
        Matcher m = METADATA.matcher(committed.metadata());
        return m.matches() && Long.parseLong(m.group(2)) == offset ? Integer.parseInt(m.group(1)) : 0;
    }

    private static void commit(Consumer<?, ?> consumer, TopicPartition tp, long offset, int attempt) {
        consumer.commitSync(Map.of(tp, new OffsetAndMetadata(offset, "diffq:attempt:" + attempt + "@" + offset)));
    }
}
