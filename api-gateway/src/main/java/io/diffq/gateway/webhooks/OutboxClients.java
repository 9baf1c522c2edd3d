package io.diffq.gateway.webhooks;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;

/** The consumers of the webhook trigger and sender: one group each, offsets committed by their owner. */
final class OutboxClients {

    private OutboxClients() {
    }

    /**
     * A consumer of {@code group} that reads committed records only (the trigger writes deliveries in
     * transactions; the trigger reads events that workers write in theirs) and commits offsets itself.
     */
    static KafkaConsumer<String, byte[]> consumer(KafkaProperties kafka, String group, String clientPrefix) {
        Map<String, Object> config = consumerConfig(kafka);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientPrefix + UUID.randomUUID());
        return new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** The settings of such a consumer, but its group and id. */
    static Map<String, Object> consumerConfig(KafkaProperties kafka) {
        Map<String, Object> config = new HashMap<>(kafka.buildConsumerProperties());
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, IsolationLevel.READ_COMMITTED.name().toLowerCase(Locale.ROOT));
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 200);
        return config;
    }

    /** Sleeps; an interrupt ends the sleep early and stays set for the caller's loop to see. */
    static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
