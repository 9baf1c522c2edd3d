package io.diffq.gateway.lanes;

import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.TopicSpec;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.Pool;
import io.diffq.gateway.kafka.TopicsProperties;
import io.diffq.gateway.queue.ServingPools;
import io.diffq.kafka.TopicReader;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The worker pools: those declared in {@code diffq.gateway.dispatch.pools} and those workers declared on
 * {@code diffq.pools} (read from the beginning without a group, like the model catalog; the topic's latest record of a
 * pool wins, a tombstone removes a pool the configuration does not declare). Each pool's lane topic is created when
 * the pool first appears, with {@code diffq.jobs}'s retention and the configured replicas, so its workers can
 * subscribe before any job is released to them.
 */
@Component
public class PoolCatalog implements SmartLifecycle, ServingPools {

    private static final Logger log = LoggerFactory.getLogger(PoolCatalog.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Map<String, Pool> declared = new ConcurrentHashMap<>();
    private final Map<String, Pool> configured;
    private final Set<String> lanesMade = ConcurrentHashMap.newKeySet();
    private final JobCodec codec;
    private final TopicsProperties topics;
    private final KafkaProperties kafkaProperties;
    private final TopicReader reader;
    private ExecutorService laneMaker;

    PoolCatalog(JobCodec codec, KafkaProperties kafkaProperties, TopicsProperties topics, DispatchProperties dispatch) {
        this.codec = codec;
        this.topics = topics;
        this.kafkaProperties = kafkaProperties;
        Map<String, Pool> c = new HashMap<>();
        dispatch.declaredPools().forEach(p -> c.put(p.name(), p));
        this.configured = Map.copyOf(c);
        this.reader = TopicReader.builder("pool-catalog", List.of(Topics.POOLS),
                        kafkaProperties.buildConsumerProperties(), kafkaProperties.buildAdminProperties())
                .clientId("diffq-gateway-pool-catalog")
                .isolationLevel(IsolationLevel.READ_COMMITTED)
                .build(this::apply);
    }

    /**
     * Every pool known, in the order the dispatcher offers them jobs: those serving fewest models first (specialists
     * keep generalists free), then by name. A pool declared on the topic replaces a configured one of the same name.
     */
    @Override
    public List<Pool> pools() {
        Map<String, Pool> all = new HashMap<>(configured);
        all.putAll(declared);
        return all.values().stream()
                .sorted(Comparator.comparingInt((Pool p) -> p.models().size()).thenComparing(Pool::name))
                .toList();
    }

    /** Whether the catalog has read every declaration that was on the topic when this instance started. */
    public boolean isCaughtUp() {
        return reader.isCaughtUp();
    }

    /** Whether the pool's lane topic is known to exist (this instance created it or found it). */
    public boolean laneReady(String pool) {
        return lanesMade.contains(pool);
    }

    /** Creates the lanes of known pools that do not have one yet (a creation that failed is tried again). */
    void ensureLanes() {
        pools().forEach(this::makeLane);
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null) {
            return;
        }
        if (r.value() == null) {
            if (declared.remove(r.key()) != null) {
                log.info("pool {} withdrawn", r.key());
            }
            return;
        }
        try {
            Pool pool = codec.readPool(r.value());
            if (!pool.name().equals(r.key())) {
                log.warn("skipping the declaration of pool {} keyed {} at offset {}", pool.name(), r.key(), r.offset());
                return;
            }
            Pool before = declared.put(pool.name(), pool);
            if (!pool.equals(before)) {
                log.info("pool {} serves {}", pool.name(), pool.models());
            }
            makeLane(pool);
        } catch (MalformedRecordException e) {
            log.warn("skipping unreadable pool {} at offset {}: {}", r.key(), r.offset(), e.getMessage());
        }
    }

    private void makeLane(Pool pool) {
        if (lanesMade.contains(pool.name())) {
            return;
        }
        ExecutorService maker = laneMaker;
        if (maker != null) {
            maker.execute(() -> createLane(pool.name()));
        }
    }

    /** Creates the pool's lane unless it exists; retried at the next declaration or start when the broker fails. */
    private void createLane(String pool) {
        if (lanesMade.contains(pool)) {
            return;
        }
        TopicSpec spec = TopicSpec.lane(pool, topics.resultTtl());
        Map<String, String> configs = new HashMap<>(spec.configs());
        configs.put(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, String.valueOf(topics.minInSyncReplicas()));
        try (Admin admin = Admin.create(kafkaProperties.buildAdminProperties())) {
            admin.createTopics(List.of(new NewTopic(spec.name(), spec.partitions(), topics.replicas()).configs(configs)))
                    .all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            log.info("created lane {} for pool {}", spec.name(), pool);
            lanesMade.add(pool);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TopicExistsException) {
                lanesMade.add(pool);
            } else {
                log.warn("could not create lane {} for pool {}: {}", spec.name(), pool, e.getCause().toString());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.warn("could not create lane {} for pool {}: {}", spec.name(), pool, e.toString());
        }
    }

    @Override
    public void start() {
        laneMaker = Executors.newSingleThreadExecutor(r -> new Thread(r, "diffq-lane-maker"));
        configured.values().forEach(this::makeLane);
        reader.start();
    }

    @Override
    public void stop() {
        reader.stop();
        ExecutorService maker = laneMaker;
        laneMaker = null;
        if (maker != null) {
            maker.shutdownNow();
        }
    }

    @Override
    public boolean isRunning() {
        return reader.isRunning();
    }
}
