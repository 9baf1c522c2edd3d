package io.diffq.kafka;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerConfig;

/**
 * The configuration of a consumer that reads partitions it assigns itself, without a consumer group: every
 * instance reads for itself, nothing is committed and no group appears on the broker. Such a consumer
 * starts from the beginning of a partition when it has no position (or its position is gone), and never
 * creates a topic by asking for it.
 */
public final class NoGroupConsumerConfig {

    private NoGroupConsumerConfig() {
    }

    /**
     * {@code base} (e.g. the application's consumer properties: bootstrap servers, security, timeouts) made
     * into a no-group consumer's configuration.
     *
     * @param base     consumer properties; read, not changed. Any group settings in it are dropped
     * @param clientId the consumer's client id, for the broker's logs and quotas and the client's metrics
     * @return a new, mutable map, to which a caller may add settings of its own
     */
    public static Map<String, Object> of(Map<String, ?> base, String clientId) {
        Objects.requireNonNull(clientId, "clientId");
        Map<String, Object> config = new HashMap<>(base);
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        return config;
    }
}
