package io.diffq.gateway.models;

import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.ModelCard;
import io.diffq.gateway.GatewayProperties;
import io.diffq.kafka.TopicReader;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The model catalog read from {@code diffq.models}, from the beginning and without a consumer group, like
 * the status view: every gateway instance knows every advertised model, and a restarted one reads them
 * again before it answers (a lookup waits, at most the read-your-writes timeout, for the start-up replay).
 * The latest card of a model replaces the one before; a tombstone (a record without a value) removes it.
 */
@Component
class KafkaModelCatalog implements ModelCatalog, SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(KafkaModelCatalog.class);

    private final Map<String, ModelCard> cards = new ConcurrentHashMap<>();
    private final JobCodec codec;
    private final GatewayProperties properties;
    private final TopicReader reader;

    KafkaModelCatalog(JobCodec codec, KafkaProperties kafkaProperties, GatewayProperties properties) {
        this.codec = codec;
        this.properties = properties;
        this.reader = TopicReader.builder("model-catalog", List.of(Topics.MODELS),
                        kafkaProperties.buildConsumerProperties(), kafkaProperties.buildAdminProperties())
                .clientId("diffq-gateway-model-catalog")
                .isolationLevel(IsolationLevel.READ_COMMITTED)
                .build(this::apply);
    }

    @Override
    public List<ModelCard> cards() {
        awaitStartupReplay();
        return cards.values().stream().sorted(Comparator.comparing(ModelCard::name)).toList();
    }

    @Override
    public Optional<ModelCard> card(String name) {
        awaitStartupReplay();
        return Optional.ofNullable(cards.get(key(name)));
    }

    @Override
    public Optional<ModelCard> latestCard(String name) {
        Optional<ModelCard> known = card(name);
        if (known.isPresent()) {
            return known;
        }
        reader.catchUp(() -> cards.containsKey(key(name)), properties.readYourWritesTimeout());
        return Optional.ofNullable(cards.get(key(name)));
    }

    /** Whether the catalog has read every card that was on the topic when this instance started. */
    boolean isCaughtUp() {
        return reader.isCaughtUp();
    }

    private void awaitStartupReplay() {
        reader.awaitCaughtUp(properties.readYourWritesTimeout());
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null) {
            log.warn("skipping a model card without a key at offset {}", r.offset());
            return;
        }
        if (r.value() == null) {
            if (cards.remove(key(r.key())) != null) {
                log.info("model {} withdrawn from the catalog", r.key());
            }
            return;
        }
        try {
            ModelCard card = codec.readModelCard(r.value());
            if (!card.name().equals(r.key())) {
                log.warn("skipping the card of model {} keyed {} at offset {}", card.name(), r.key(), r.offset());
                return;
            }
            cards.put(key(card.name()), card);
            log.info("model {} advertised by {}: {}", card.name(), card.worker(), card.describeSizes());
        } catch (MalformedRecordException e) {
            log.warn("skipping unreadable model card {} at offset {}: {}", r.key(), r.offset(), e.getMessage());
        }
    }

    private static String key(String name) {
        return name.toLowerCase(Locale.ROOT);
    }

    @Override
    public void start() {
        reader.start();
    }

    @Override
    public void stop() {
        reader.stop();
    }

    @Override
    public boolean isRunning() {
        return reader.isRunning();
    }
}
