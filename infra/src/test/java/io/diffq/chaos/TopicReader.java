package io.diffq.chaos;

import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Reads the topics from their start to their end offsets with a plain consumer (no group), committed records only. */
final class TopicReader {

    private final String bootstrap;
    private final JobCodec codec = new JobCodec();

    TopicReader(String bootstrap) {
        this.bootstrap = bootstrap;
    }

    /** {@code diffq.job-events} record by record, in partition order. */
    List<TopicContents.Keyed> events() {
        List<TopicContents.Keyed> events = new ArrayList<>();
        read(Topics.JOB_EVENTS, r -> events.add(new TopicContents.Keyed(r.key(), codec.readEvent(r.value()))));
        return events;
    }

    TopicContents contents() {
        List<TopicContents.Keyed> events = events();
        Set<String> dlt = new TreeSet<>();
        read(Topics.JOBS_DLT, r -> dlt.add(r.key()));
        Map<String, List<String>> results = new HashMap<>();
        read(Topics.RESULTS, r -> results.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(ChaosCluster.sha256(r.value())));
        Map<String, String> prompts = new HashMap<>();
        // All records of one id share a partition, read in order: the first one seen is the job.
        read(Topics.JOBS, r -> prompts.putIfAbsent(r.key(), codec.readRequest(r.value()).prompt()));
        return TopicContents.of(events, dlt, results, prompts);
    }

    private void read(String topic, Consumer<ConsumerRecord<String, byte[]>> handler) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.CLIENT_ID_CONFIG, "chaos-checker-" + UUID.randomUUID(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.MAX_RESULT_BYTES,
                ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Topics.MAX_RESULT_BYTES), new StringDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            c.assign(partitions);
            c.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = c.endOffsets(partitions, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (partitions.stream().anyMatch(p -> c.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(topic + ": not read to its end within 2 minutes");
                }
                c.poll(Duration.ofMillis(500)).forEach(r -> {
                    if (r.key() != null && r.value() != null) {
                        handler.accept(r);
                    }
                });
            }
        }
    }
}
