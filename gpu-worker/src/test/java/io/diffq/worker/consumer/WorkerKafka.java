package io.diffq.worker.consumer;

import static org.awaitility.Awaitility.await;

import io.diffq.common.kafka.Topics;
import io.diffq.testing.KafkaBrokerExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** What the worker's integration tests do around it: write jobs, read topics, scrape its metrics. */
final class WorkerKafka {

    private WorkerKafka() {
    }

    /**
     * A broker of the test class's own on which the topics a worker reads and writes exist from the start, with
     * {@code partitions} partitions each: the gateway creates them, and a worker waits for them.
     */
    static KafkaBrokerExtension broker(int partitions) {
        return KafkaBrokerExtension.withTopics(partitions, Topics.JOBS, Topics.JOB_EVENTS, Topics.RESULTS,
                Topics.JOBS_DLT, Topics.JOB_CONTROLS);
    }

    /** A producer of job records; {@code extra} adds or overrides producer settings. */
    static KafkaProducer<String, byte[]> producer(String brokers, Map<String, Object> extra) {
        Map<String, Object> config = new HashMap<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers));
        config.putAll(extra);
        return new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    /** A consumer in a group of its own that starts at the oldest record. */
    static KafkaConsumer<String, byte[]> consumer(String brokers) {
        return new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers,
                ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"),
                new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** The record at one offset of one partition (within 10 s). */
    static ConsumerRecord<String, byte[]> fetch(String brokers, String topic, int partition, long offset) {
        try (KafkaConsumer<String, byte[]> c = consumer(brokers)) {
            TopicPartition tp = new TopicPartition(topic, partition);
            c.assign(List.of(tp));
            c.seek(tp, offset);
            List<ConsumerRecord<String, byte[]>> got = new ArrayList<>();
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                c.poll(Duration.ofMillis(200)).forEach(got::add);
                return !got.isEmpty();
            });
            return got.get(0);
        }
    }

    /**
     * Per partition of {@code diffq.jobs} that holds records, how many of them the workers' share group has
     * finished (accepted, or archived): the log's end less the group's lag, as the broker reports it. (The
     * group's start offset may stay behind records already accepted, so it does not tell.)
     */
    static Map<Integer, Long> finished(String brokers) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
            Map<TopicPartition, SharePartitionOffsetInfo> offsets = admin.listShareGroupOffsets(
                    Map.of(Topics.WORKER_GROUP, new ListShareGroupOffsetsSpec())).partitionsToOffsetInfo(
                    Topics.WORKER_GROUP).get(10, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            offsets.keySet().forEach(tp -> latest.put(tp, OffsetSpec.latest()));
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = admin.listOffsets(latest).all()
                    .get(10, TimeUnit.SECONDS);
            Map<Integer, Long> done = new HashMap<>();
            offsets.forEach((tp, info) -> {
                if (tp.topic().equals(Topics.JOBS) && info != null) {
                    long end = ends.get(tp).offset();
                    done.put(tp.partition(), end - info.lag().orElse(end - info.startOffset()));
                }
            });
            return done;
        }
    }

    /** The end offsets of a topic's partitions, summed: how many records it holds (from offset 0). */
    static long endOffsets(String brokers, String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic).partitions()
                    .forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            return admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).values().stream()
                    .mapToLong(ListOffsetsResult.ListOffsetsResultInfo::offset).sum();
        }
    }

    /** How many job records the workers' share group has finished, over all partitions. */
    static long finishedJobs(String brokers) throws Exception {
        return finished(brokers).values().stream().mapToLong(Long::longValue).sum();
    }

    /** The worker's Prometheus page. */
    static String scrape(int port) throws Exception {
        return HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/prometheus")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }
}
