package io.diffq.worker.consumer;

import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.Pool;
import io.diffq.kafka.NoGroupConsumerConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.stereotype.Component;

/**
 * A worker reading lanes joins a pool (docs/design/lanes.md §2): before its consumers start it reads the pool's
 * declaration on {@code diffq.pools} and refuses to start when it lists other models (a pool's lane carries jobs of
 * exactly its models, so a worker serving fewer would fail some and one serving more would wait for jobs that never
 * come); then the {@link ModelAdvertiser} declares the pool beside the model cards. Where {@code diffq.pools} does not
 * exist yet (no gateway has started) there is nothing to compare with, and the declaration waits for the topic.
 */
@Component
class PoolMembership {

    private static final Logger log = LoggerFactory.getLogger(PoolMembership.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final KafkaProperties kafkaProperties;
    private final JobCodec codec;
    private final ModelAdvertiser advertiser;

    PoolMembership(KafkaProperties kafkaProperties, JobCodec codec, ModelAdvertiser advertiser) {
        this.kafkaProperties = kafkaProperties;
        this.codec = codec;
        this.advertiser = advertiser;
    }

    /** Checks {@code pool} against its declaration and has it declared; an {@link IllegalStateException} on a conflict. */
    void join(Pool pool) {
        Optional<Pool> declared = declared(pool.name());
        if (declared.isPresent() && !declared.get().models().equals(pool.models())) {
            throw new IllegalStateException("diffq.worker.pool '" + pool.name() + "' is declared on " + Topics.POOLS
                    + " as serving " + declared.get().models() + ", and this worker serves " + pool.models()
                    + ": serve the same models, or name another pool (diffq.worker.pool; its default is the models "
                    + "joined by '.')");
        }
        log.info("joining pool {} (models {}) on {}{}", pool.name(), pool.models(), Topics.lane(pool.name()),
                declared.isPresent() ? "" : "; declaring it");
        advertiser.declare(pool);
    }

    /** The pool's declaration as {@code diffq.pools} holds it now; empty when it holds none or does not exist. */
    Optional<Pool> declared(String name) {
        Map<String, Object> config = NoGroupConsumerConfig.of(kafkaProperties.buildConsumerProperties(),
                "diffq-worker-pools");
        config.put("isolation.level", IsolationLevel.READ_COMMITTED.toString());
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            List<PartitionInfo> partitions = consumer.partitionsFor(Topics.POOLS, TIMEOUT);
            if (partitions == null || partitions.isEmpty()) {
                return Optional.empty();
            }
            List<TopicPartition> tps = partitions.stream().map(p -> new TopicPartition(p.topic(), p.partition()))
                    .toList();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, TIMEOUT);
            Pool found = null;
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (tps.stream().anyMatch(tp -> consumer.position(tp, TIMEOUT) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + Topics.POOLS + " to its end within " + TIMEOUT);
                }
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (name.equals(r.key())) {
                        found = r.value() == null ? null : read(r);
                    }
                }
            }
            return Optional.ofNullable(found);
        } catch (org.apache.kafka.common.errors.UnknownTopicOrPartitionException e) {
            return Optional.empty();
        }
    }

    private Pool read(ConsumerRecord<String, byte[]> r) {
        try {
            return codec.readPool(r.value());
        } catch (MalformedRecordException e) {
            log.warn("ignoring an unreadable declaration of pool {} at offset {}: {}", r.key(), r.offset(),
                    e.getMessage());
            return null;
        }
    }
}
