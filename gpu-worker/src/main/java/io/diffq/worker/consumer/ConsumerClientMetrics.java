package io.diffq.worker.consumer;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.apache.kafka.clients.consumer.Consumer;
import org.springframework.kafka.core.ConsumerFactory;

/**
 * Binds each consumer's own Kafka client metrics (records lag per partition among them) to Micrometer.
 * The per-partition metrics appear only once partitions are assigned, so the binding looks for new
 * metrics every few seconds instead of Micrometer's default minute.
 */
final class ConsumerClientMetrics implements ConsumerFactory.Listener<String, byte[]>, AutoCloseable {

    private static final Duration REFRESH = Duration.ofSeconds(5);

    private final MeterRegistry meters;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "diffq-kafka-client-metrics");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, KafkaClientMetrics> bound = new ConcurrentHashMap<>();

    ConsumerClientMetrics(MeterRegistry meters) {
        this.meters = meters;
    }

    @Override
    public void consumerAdded(String id, Consumer<String, byte[]> consumer) {
        KafkaClientMetrics metrics = new KafkaClientMetrics(consumer, Tags.empty(), scheduler, REFRESH);
        metrics.bindTo(meters);
        bound.put(id, metrics);
    }

    @Override
    public void consumerRemoved(String id, Consumer<String, byte[]> consumer) {
        KafkaClientMetrics metrics = bound.remove(id);
        if (metrics != null) {
            metrics.close();
        }
    }

    @Override
    public void close() {
        bound.values().forEach(KafkaClientMetrics::close);
        bound.clear();
        scheduler.shutdownNow();
    }
}
