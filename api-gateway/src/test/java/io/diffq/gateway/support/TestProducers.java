package io.diffq.gateway.support;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Producers with which tests write records as the gateway and the workers would. */
public final class TestProducers {

    private TestProducers() {
    }

    /**
     * A producer of {@code acks=all}; transactional under {@code transactionalId} unless it is {@code null} (e.g. to
     * hold later records of a partition from read-committed readers with an open transaction).
     */
    public static KafkaProducer<String, byte[]> of(String bootstrapServers, String transactionalId) {
        Map<String, Object> config = new HashMap<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ProducerConfig.ACKS_CONFIG, "all"));
        if (transactionalId != null) {
            config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        return new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }
}
