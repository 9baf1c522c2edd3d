package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.ModelCard;
import io.diffq.testing.KafkaBrokerExtension;
import io.diffq.worker.model.sd.SdFixture;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A worker advertises the models it opened on {@code diffq.models}, keyed by model name. It starts before
 * the topic exists (the gateway creates it; this broker auto-creates nothing) and advertises once it does.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.NONE, properties = {
        "diffq.worker.id=advertising-worker",
        "diffq.worker.models=simulated,tiny,sd"})
@DirtiesContext
class ModelAdvertiserIntegrationTests {

    @RegisterExtension
    static final KafkaBrokerExtension kafka = WorkerKafka.broker(2);

    @DynamicPropertySource
    static void kafkaAndStableDiffusion(DynamicPropertyRegistry registry) {
        registry.add("spring.kafka.bootstrap-servers", kafka::bootstrapServers);
        registry.add("diffq.worker.stable-diffusion.model-dir", () -> SdFixture.directory().toString());
    }

    private final JobCodec codec = new JobCodec();

    @Test
    void everyOpenedModelIsAdvertisedOnceTheTopicExists() throws Exception {
        Instant started = Instant.now();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            // What the gateway does at its start-up; it fails if a producer had the topic auto-created.
            admin.createTopics(List.of(new NewTopic(Topics.MODELS, 1, (short) 1)
                    .configs(Map.of("cleanup.policy", "compact")))).all().get();
        }

        Map<String, ModelCard> cards = new ConcurrentHashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.assign(List.of(new TopicPartition(Topics.MODELS, 0)));
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    ModelCard card = codec.readModelCard(r.value());
                    assertThat(r.key()).isEqualTo(card.name());
                    cards.put(r.key(), card);
                }
                return cards.size() == 3;
            });
        }

        ModelCard tiny = cards.get("tiny");
        assertThat(tiny.squareOnly()).isTrue();
        assertThat(List.of(tiny.defaultSize(), tiny.minSize(), tiny.maxSize(), tiny.sizeMultiple()))
                .containsExactly(256, 32, 1024, 32);
        assertThat(tiny.schedulers()).startsWith("ddim").contains("euler");
        assertThat(tiny.defaultGuidance()).isEqualTo(5.0);
        ModelCard simulated = cards.get("simulated");
        assertThat(simulated.squareOnly()).isFalse();
        assertThat(List.of(simulated.defaultSize(), simulated.minSize(), simulated.maxSize(),
                simulated.sizeMultiple())).containsExactly(512, 8, 1024, 8);
        // Stable Diffusion's card comes from its model directory's model.properties.
        ModelCard sd = cards.get("sd");
        assertThat(sd.squareOnly()).isFalse();
        assertThat(List.of(sd.defaultSize(), sd.minSize(), sd.maxSize(), sd.sizeMultiple()))
                .containsExactly(64, 64, 256, 8);
        assertThat(sd.schedulers()).containsExactly("ddim", "euler", "dpmpp-2m");
        assertThat(sd.defaultGuidance()).isEqualTo(7.5);
        for (ModelCard card : cards.values()) {
            assertThat(card.worker()).isEqualTo("advertising-worker");
            assertThat(card.advertisedAt()).isAfterOrEqualTo(started).isBeforeOrEqualTo(Instant.now());
        }
    }
}
