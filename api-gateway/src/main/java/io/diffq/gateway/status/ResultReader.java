package io.diffq.gateway.status;

import io.diffq.common.job.ResultRef;
import io.diffq.common.kafka.Topics;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.kafka.KafkaUnavailableException;
import io.diffq.kafka.NoGroupConsumerConfig;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.stereotype.Component;

/**
 * Fetches an image from {@code diffq.results} by its offset, on demand, and keeps the most recently used
 * ones in a bounded cache: the gateway never holds every image in memory.
 */
@Component
public class ResultReader implements DisposableBean {

    private static final int CONSUMERS = 2;
    private static final Duration FETCH_TIMEOUT = Duration.ofSeconds(5);

    private final BlockingQueue<KafkaConsumer<String, byte[]>> pool = new ArrayBlockingQueue<>(CONSUMERS);
    private final ImageCache cache;

    public ResultReader(KafkaProperties kafkaProperties, GatewayProperties properties) {
        this.cache = new ImageCache(properties.imageCacheSize().toBytes());
        for (int i = 0; i < CONSUMERS; i++) {
            Map<String, Object> config = NoGroupConsumerConfig.of(kafkaProperties.buildConsumerProperties(),
                    "diffq-gateway-results-" + i);
            config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
            config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.MAX_RESULT_BYTES + 64 * 1024);
            config.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Topics.MAX_RESULT_BYTES + 64 * 1024);
            pool.add(new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer()));
        }
    }

    /**
     * The image of {@code jobId} at {@code ref}, or empty when the record is gone (past the result TTL).
     *
     * @throws KafkaUnavailableException when Kafka does not answer in time
     */
    public Optional<byte[]> read(String jobId, ResultRef ref) {
        byte[] cached = cache.get(jobId);
        if (cached != null) {
            return Optional.of(cached);
        }
        KafkaConsumer<String, byte[]> consumer = borrow();
        try {
            TopicPartition tp = new TopicPartition(Topics.RESULTS, ref.partition());
            consumer.assign(List.of(tp));
            Long earliest = consumer.beginningOffsets(List.of(tp), FETCH_TIMEOUT).get(tp);
            if (earliest != null && earliest > ref.offset()) {
                return Optional.empty();
            }
            consumer.seek(tp, ref.offset());
            long deadline = System.nanoTime() + FETCH_TIMEOUT.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.offset() == ref.offset() && jobId.equals(r.key())) {
                        cache.put(jobId, r.value());
                        return Optional.of(r.value());
                    }
                    if (r.offset() >= ref.offset()) {
                        return Optional.empty();
                    }
                }
            }
            throw new KafkaUnavailableException("no answer from Kafka for the image of " + jobId, null);
        } catch (KafkaException e) {
            throw new KafkaUnavailableException("Kafka did not return the image of " + jobId, e);
        } finally {
            consumer.unsubscribe();
            pool.add(consumer);
        }
    }

    private KafkaConsumer<String, byte[]> borrow() {
        try {
            KafkaConsumer<String, byte[]> c = pool.poll(FETCH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (c == null) {
                throw new KafkaUnavailableException("too many image fetches at once", null);
            }
            return c;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaUnavailableException("interrupted", e);
        }
    }

    @Override
    public void destroy() {
        pool.forEach(c -> c.close(Duration.ofSeconds(2)));
    }

    /** Least-recently-used images up to a total size in bytes. */
    static final class ImageCache {

        private final long capacity;
        private final LinkedHashMap<String, byte[]> images = new LinkedHashMap<>(64, 0.75f, true);
        private long size;

        ImageCache(long capacity) {
            this.capacity = capacity;
        }

        synchronized byte[] get(String id) {
            return images.get(id);
        }

        synchronized void put(String id, byte[] image) {
            if (image.length > capacity) {
                return;
            }
            byte[] old = images.put(id, image);
            size += image.length - (old == null ? 0 : old.length);
            var it = images.entrySet().iterator();
            while (size > capacity && it.hasNext()) {
                size -= it.next().getValue().length;
                it.remove();
            }
        }
    }
}
