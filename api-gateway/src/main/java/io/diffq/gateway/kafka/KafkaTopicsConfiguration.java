package io.diffq.gateway.kafka;

import io.diffq.common.kafka.TopicSpec;
import io.diffq.gateway.GatewayProperties;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.KafkaAdmin;

/**
 * Declares the diffq topics, so that the gateway creates any that are missing when it starts, with
 * {@code diffq.topics.replicas} replicas and {@code min.insync.replicas} set (an existing topic keeps its own); and
 * refuses to start when the status view would keep jobs longer than the topics keep their events.
 */
@Configuration(proxyBeanMethods = false)
class KafkaTopicsConfiguration {

    @Bean
    KafkaAdmin.NewTopics diffqTopics(TopicsProperties topics, GatewayProperties gateway) {
        topics.checkStatusRetention(gateway.statusRetention());
        List<TopicSpec> specs = TopicSpec.all(topics.jobPartitions(), topics.partitions(), topics.resultTtl());
        return new KafkaAdmin.NewTopics(specs.stream()
                .map(spec -> toNewTopic(spec, topics.replicas(), topics.minInSyncReplicas()))
                .toArray(NewTopic[]::new));
    }

    private static NewTopic toNewTopic(TopicSpec spec, short replicas, int minInSync) {
        Map<String, String> configs = new HashMap<>(spec.configs());
        configs.put(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, String.valueOf(minInSync));
        return TopicBuilder.name(spec.name())
                .partitions(spec.partitions())
                .replicas(replicas)
                .configs(configs)
                .build();
    }
}
