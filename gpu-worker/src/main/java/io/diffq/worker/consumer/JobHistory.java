package io.diffq.worker.consumer;

import io.diffq.common.job.JobEvent;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import io.diffq.kafka.JobKeys;
import io.diffq.kafka.NoGroupConsumerConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.stereotype.Component;

/**
 * Reads back one job's events from {@code diffq.job-events} when its record is delivered again: a worker may
 * have written the job's terminal event and then lost the record before acknowledging it (its lock ran out, the
 * partition's leader moved). Such a job is finished, not run again as another attempt that might end otherwise.
 * Only redeliveries ask, so the read (one partition, from the job's submission on) is rare.
 */
@Component
class JobHistory implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(JobHistory.class);
    /** The longest one read-back may take; after it the job runs as if it had no terminal event. */
    static final Duration LIMIT = Duration.ofSeconds(20);
    private static final Duration POLL = Duration.ofMillis(200);

    private final Map<String, Object> config;
    private final JobCodec codec;
    private KafkaConsumer<String, byte[]> consumer;

    JobHistory(KafkaProperties kafkaProperties, JobCodec codec) {
        this.config = NoGroupConsumerConfig.of(kafkaProperties.buildConsumerProperties(), "diffq-worker-job-history");
        this.codec = codec;
    }

    /**
     * The job's terminal event, if one was written since {@code since} (epoch milliseconds, the job's submission):
     * the first, not counting late writes (an event of an older attempt than one before it), as every reader
     * folds the events.
     *
     * @throws KafkaException when the events could not be read to their end within {@link #LIMIT}
     */
    synchronized Optional<JobEvent> terminal(String jobId, long since) {
        if (consumer == null) {
            consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
        }
        long deadline = System.nanoTime() + LIMIT.toNanos();
        try {
            List<PartitionInfo> partitions = consumer.partitionsFor(Topics.JOB_EVENTS, LIMIT);
            TopicPartition tp = new TopicPartition(Topics.JOB_EVENTS, JobKeys.partition(jobId, partitions.size()));
            consumer.assign(List.of(tp));
            OffsetAndTimestamp first = consumer.offsetsForTimes(Map.of(tp, Math.max(0, since)), LIMIT).get(tp);
            if (first == null) {
                return Optional.empty();
            }
            long end = consumer.endOffsets(List.of(tp), LIMIT).get(tp);
            consumer.seek(tp, first.offset());
            Optional<JobEvent> terminal = Optional.empty();
            int newest = 0;
            while (consumer.position(tp) < end) {
                if (System.nanoTime() - deadline > 0) {
                    throw new KafkaException("read " + tp + " up to " + consumer.position(tp) + " of " + end
                            + " within " + LIMIT);
                }
                for (ConsumerRecord<String, byte[]> r : consumer.poll(POLL)) {
                    if (r.offset() >= end || r.key() == null || !jobId.equals(JobKeys.jobId(r.key()))
                            || r.value() == null || terminal.isPresent()) {
                        continue;
                    }
                    Optional<JobEvent> event = eventOf(r);
                    // An older attempt's event after a newer one's is a late write (its worker had lost the job):
                    // every reader refuses it, so it does not end the job here either.
                    if (event.isEmpty() || event.get().attempt() < newest) {
                        continue;
                    }
                    newest = event.get().attempt();
                    if (event.get().state().isTerminal()) {
                        terminal = event;
                    }
                }
                if (terminal.isPresent()) {
                    return terminal;
                }
            }
            return terminal;
        } finally {
            consumer.unsubscribe();
        }
    }

    private Optional<JobEvent> eventOf(ConsumerRecord<String, byte[]> r) {
        try {
            return Optional.of(codec.readEvent(r.value()));
        } catch (MalformedRecordException e) {
            log.warn("skipping unreadable event {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
            return Optional.empty();
        }
    }

    @Override
    public synchronized void close() {
        if (consumer != null) {
            consumer.close();
            consumer = null;
        }
    }
}
