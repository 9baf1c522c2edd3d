package io.diffq.gateway.kafka;

import io.diffq.common.kafka.TopicSpec;
import org.apache.kafka.clients.admin.NewTopic;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.KafkaAdmin;

/** Declares the diffq topics, so that the gateway creates any that are missing when it starts. */
@Configuration(proxyBeanMethods = false)
class KafkaTopicsConfiguration {

    @Bean
    KafkaAdmin.NewTopics diffqTopics(TopicsProperties topics) {
        return new KafkaAdmin.NewTopics(TopicSpec.all(topics.partitions(), topics.resultTtl()).stream()
                .map(spec -> toNewTopic(spec, topics.replicas()))
                .toArray(NewTopic[]::new));
    }

    private static NewTopic toNewTopic(TopicSpec spec, short replicas) {
        return TopicBuilder.name(spec.name())
                .partitions(spec.partitions())
                .replicas(replicas)
                .configs(spec.configs())
                .build();
    }
}
