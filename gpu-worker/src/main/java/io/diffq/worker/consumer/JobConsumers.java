package io.diffq.worker.consumer;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.ModelCard;
import io.diffq.worker.WorkerProperties;
import io.diffq.worker.gpu.GpuMetrics;
import io.diffq.worker.model.DiffusionModelProvider;
import io.diffq.worker.pipeline.Device;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.stereotype.Component;

/**
 * One Kafka consumer per device, each with its own models and its own {@link JobLoop} thread, in the
 * {@code diffq-workers} group. A job's offset is committed after its terminal event is acknowledged. Failures
 * to write to Kafka are retried without end (the job runs again once the broker is back); model failures
 * never reach here, they are FAILED events. Once the models are open, their cards are advertised on
 * {@code diffq.models} in the background.
 */
@Component
class JobConsumers implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(JobConsumers.class);

    /**
     * How long one poll of the job consumer waits, and how long the broker may hold a fetch that finds no
     * job. The KIP-848 consumer of kafka-clients 4.1 waits on its fetch buffer for the rest of a poll's
     * timeout when a fetch comes back empty, and sends no new fetch meanwhile (KAFKA-19259, KAFKA-20780):
     * with a long poll and the broker's 500 ms fetch wait, a job arriving just after an empty fetch could
     * wait seconds while its worker idled. A broker-held fetch that outlasts the poll is answered the moment
     * a job arrives; an empty answer comes only after {@link #FETCH_MAX_WAIT} of idleness and costs at most
     * one short poll. The short poll is also how soon an idle loop notices a stop.
     */
    static final Duration POLL_TIMEOUT = Duration.ofMillis(250);
    static final Duration FETCH_MAX_WAIT = Duration.ofSeconds(10);
    /** The pause before a job runs again after a retryable failure, a failed write or a failed commit. */
    static final Duration RETRY_BACK_OFF = Duration.ofSeconds(1);
    /** The longest a worker taking a partition over spends reading back its records before the committed offset. */
    static final Duration HISTORY_LIMIT = Duration.ofSeconds(20);
    /** SPIKE (issue 29): how often a running job's acquisition lock is renewed: half the broker's default 30 s lock. */
    static final Duration SHARE_RENEW_EVERY = Duration.ofSeconds(15);

    private final JobProcessor processor;
    private final List<DiffusionModelProvider> providers;
    private final WorkerProperties properties;
    private final WorkerIdentity identity;
    private final KafkaProperties kafkaProperties;
    private final MeterRegistry meters;
    private final GpuMetrics gpus;
    private final ModelAdvertiser advertiser;
    /** Each device's loop thread, with how to ask its loop to stop. */
    private final Map<Thread, Runnable> loops = new LinkedHashMap<>();
    private final List<DeviceModels> deviceModels = new ArrayList<>();
    private ConsumerClientMetrics clientMetrics;
    private volatile boolean running;
    private volatile long handBackAt;

    JobConsumers(JobProcessor processor, List<DiffusionModelProvider> providers, WorkerProperties properties,
            WorkerIdentity identity, KafkaProperties kafkaProperties, MeterRegistry meters, GpuMetrics gpus,
            ModelAdvertiser advertiser) {
        this.processor = processor;
        this.providers = providers;
        this.properties = properties;
        this.identity = identity;
        this.kafkaProperties = kafkaProperties;
        this.meters = meters;
        this.gpus = gpus;
        this.advertiser = advertiser;
    }

    @Override
    public void start() {
        warmUpImaging();
        List<DiffusionModelProvider> selected = selectedProviders();
        DefaultKafkaConsumerFactory<String, byte[]> factory = new DefaultKafkaConsumerFactory<>(consumerConfig(),
                new StringDeserializer(), new ByteArrayDeserializer());
        clientMetrics = new ConsumerClientMetrics(meters);
        factory.addListener(clientMetrics);
        JobLoop.Timing timing = new JobLoop.Timing(POLL_TIMEOUT, RETRY_BACK_OFF, stopWait());
        DefaultKafkaConsumerFactory<String, byte[]> historyFactory = new DefaultKafkaConsumerFactory<>(
                historyConfig(), new StringDeserializer(), new ByteArrayDeserializer());
        boolean share = "share".equals(properties.delivery());
        if (share) {
            configureShareGroup();
        }
        for (Device device : Devices.resolve(properties.devices(), gpus.gpuCount())) {
            DeviceModels models = DeviceModels.open(device, selected);
            deviceModels.add(models);
            if (share) {
                ShareJobLoop loop = new ShareJobLoop("consumer " + device.name(),
                        new KafkaShareConsumer<>(shareConsumerConfig(identity.id() + "-" + device.name()),
                                new StringDeserializer(), new ByteArrayDeserializer()),
                        (jobs, handBack) -> processor.process(jobs, models, handBack), this::handingBack, timing,
                        properties.maxBatch() == 1 ? r -> r : processor::batchKey, SHARE_RENEW_EVERY);
                startLoop(device, loop, loop::stop, "share group", selected);
                continue;
            }
            Consumer<String, byte[]> consumer = factory.createConsumer(Topics.WORKER_GROUP,
                    identity.id() + "-" + device.name(), null);
            JobLoop loop = new JobLoop("consumer " + device.name(), consumer,
                    (jobs, handBack) -> processor.process(jobs, models, handBack), this::handingBack, timing,
                    new JobLoop.Batching(properties.maxBatch(), properties.batchWindow(), processor::batchKey),
                    new JobLoop.Repeats(properties.repeatWindow(), new PartitionHistory(() -> historyFactory
                            .createConsumer(null, identity.id() + "-" + device.name() + "-history", null),
                            HISTORY_LIMIT)));
            startLoop(device, loop, loop::stop, "group", selected);
        }
        Map<String, ModelCard> cards = new LinkedHashMap<>();
        deviceModels.forEach(models -> models.cards().forEach(card -> cards.putIfAbsent(card.name(), card)));
        advertiser.advertise(cards.values());
        running = true;
    }

    private void startLoop(Device device, Runnable loop, Runnable stop, String group,
            List<DiffusionModelProvider> selected) {
        Thread thread = new Thread(loop, "diffq-consumer-" + device.name());
        loops.put(thread, stop);
        thread.start();
        log.info("consumer for {} started in {} {} serving {}", device.name(), group, Topics.WORKER_GROUP,
                selected.stream().map(DiffusionModelProvider::name).toList());
    }

    /**
     * Java2D and ImageIO register JVM shutdown hooks when first used; a first job during a graceful
     * shutdown would fail with "Shutdown in progress". Using them once at start-up avoids that (and the
     * first job's extra latency).
     */
    private static void warmUpImaging() {
        BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.fillOval(0, 0, 8, 8);
        g.dispose();
        JobProcessor.encodePng(image);
    }

    private List<DiffusionModelProvider> selectedProviders() {
        List<DiffusionModelProvider> selected = new ArrayList<>();
        for (String name : properties.models()) {
            selected.add(providers.stream().filter(p -> p.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("diffq.worker.models: no model named '" + name
                            + "'; known: " + providers.stream().map(DiffusionModelProvider::name).toList())));
        }
        return selected;
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> config = new HashMap<>(kafkaProperties.buildConsumerProperties());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, Topics.WORKER_GROUP);
        // KIP-848: the broker assigns partitions incrementally; a member joining or leaving does not stop the others.
        config.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // A new group must start at the oldest job, not skip the ones accepted before any worker ran.
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // At most one batch per poll: a long job never holds many others hostage.
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, properties.maxBatch());
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, (int) FETCH_MAX_WAIT.toMillis());
        // A job runs at most max-job-duration, and one poll's jobs make at most max-batch batches (when none of
        // them fit together), so the loop is back at poll in time and a long job costs no rebalance.
        config.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) properties.maxJobDuration()
                .multipliedBy(properties.maxBatch()).plus(properties.shutdownGrace()).plusMinutes(1).toMillis());
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        return config;
    }

    /**
     * SPIKE (issue 29): the share group starts at the oldest job (its default is the newest, which would skip
     * jobs accepted before any worker ran).
     */
    private void configureShareGroup() {
        try (Admin admin = Admin.create(kafkaProperties.buildAdminProperties())) {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, Topics.WORKER_GROUP),
                    List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"),
                            AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("could not configure share group " + Topics.WORKER_GROUP, e);
        }
    }

    /** SPIKE (issue 29): the share consumer: explicit acknowledgement, no more records than one batch takes. */
    private Map<String, Object> shareConsumerConfig(String clientId) {
        Map<String, Object> config = new HashMap<>(kafkaProperties.buildConsumerProperties());
        // Settings a share consumer refuses (the group's configuration holds their equivalents).
        List.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG,
                ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG,
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG)
                .forEach(config::remove);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, Topics.WORKER_GROUP);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
        config.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, properties.maxBatch());
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, (int) FETCH_MAX_WAIT.toMillis());
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        return config;
    }

    /**
     * The consumer that reads back a partition's records before its committed offset, when one is taken
     * over (to recognise repeated job records): outside the group, it only reads.
     */
    private Map<String, Object> historyConfig() {
        Map<String, Object> config = new HashMap<>(kafkaProperties.buildConsumerProperties());
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2_000);
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        return config;
    }

    /** How long a stop waits for a loop: the grace for the job in hand, then its writes and the last commit. */
    private Duration stopWait() {
        return properties.shutdownGrace().plusSeconds(15);
    }

    /** True once a shutdown's grace period is over: the job in hand stops and goes back to the group. */
    private boolean handingBack() {
        long at = handBackAt;
        return at != 0 && System.nanoTime() - at >= 0;
    }

    @Override
    public void stop() {
        handBackAt = System.nanoTime() + properties.shutdownGrace().toNanos();
        log.info("stopping: the job in hand has {} to finish before it is handed back", properties.shutdownGrace());
        loops.values().forEach(Runnable::run);
        long waitMillis = stopWait().toMillis();
        loops.forEach((thread, stop) -> {
            try {
                thread.join(waitMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                log.warn("{} did not stop within {} ms", thread.getName(), waitMillis);
            }
        });
        loops.clear();
        deviceModels.forEach(DeviceModels::close);
        deviceModels.clear();
        if (clientMetrics != null) {
            clientMetrics.close();
        }
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
