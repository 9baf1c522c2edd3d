package io.diffq.worker.consumer;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.lang.reflect.Proxy;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ShareConsumer;
import org.springframework.kafka.core.ConsumerFactory;

/**
 * Binds each consumer's own Kafka client metrics (the share consumer's fetch and acknowledgement metrics) to
 * Micrometer.
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

    /**
     * Binds a share consumer's client metrics. Micrometer's binder takes a {@link Consumer} and reads only its
     * {@code metrics()}; this hands it a view of the share consumer that answers just that.
     */
    @SuppressWarnings("unchecked")
    void shareConsumerAdded(String id, ShareConsumer<String, byte[]> consumer) {
        Consumer<String, byte[]> view = (Consumer<String, byte[]>) Proxy.newProxyInstance(
                Consumer.class.getClassLoader(), new Class<?>[] {Consumer.class}, (proxy, method, args) -> {
                    if (method.getName().equals("metrics") && method.getParameterCount() == 0) {
                        return consumer.metrics();
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        consumerAdded(id, view);
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
