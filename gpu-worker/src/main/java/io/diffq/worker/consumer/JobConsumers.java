package io.diffq.worker.consumer;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.ModelCard;
import io.diffq.common.model.Pool;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * One Kafka share consumer per device, each with its own models and its own {@link JobLoop} thread, in the
 * {@code diffq-workers} share group. A job's record is accepted after its terminal event is acknowledged.
 * Failures to write to Kafka release the record (the job runs again, here or elsewhere, once the broker is
 * back); model failures never reach here, they are FAILED events. Once the models are open, their cards are advertised on
 * {@code diffq.models} in the background.
 */
@Component
class JobConsumers implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(JobConsumers.class);

    /**
     * How long one poll of the job consumer waits, and how long the broker may hold a fetch that finds no job:
     * a broker-held fetch that outlasts the poll is answered the moment a job arrives. The short poll is how
     * soon an idle loop notices a stop.
     */
    static final Duration POLL_TIMEOUT = Duration.ofMillis(250);
    /**
     * How long the broker holds a share fetch that finds no job. A new record answers a held fetch at once, but a
     * record that becomes available again (released, or its lock ran out) does not: it waits for the next fetch.
     * So this bounds how long a released job (another attempt, a hand-back, a lost worker's job) waits while
     * workers idle.
     */
    static final Duration FETCH_MAX_WAIT = Duration.ofSeconds(1);
    /** The pause after a poll that failed (the broker is away). */
    static final Duration RETRY_BACK_OFF = Duration.ofSeconds(1);
    /** How often a running job's acquisition lock is renewed: half the broker's default 30 s lock (or less). */
    static final Duration RENEW_EVERY = Duration.ofSeconds(15);
    /** Deliveries of one job that may be handed back on shutdown before the delivery count limit is reached. */
    static final int HAND_BACKS = 3;

    private final JobProcessor processor;
    private final List<DiffusionModelProvider> providers;
    private final WorkerProperties properties;
    private final WorkerIdentity identity;
    private final KafkaProperties kafkaProperties;
    private final MeterRegistry meters;
    private final GpuMetrics gpus;
    private final ModelAdvertiser advertiser;
    private final JobAdmission admission;
    private final PoolMembership pools;
    /** Each device's loop thread, with how to ask its loop to stop. */
    private final Map<Thread, Runnable> loops = new LinkedHashMap<>();
    private final List<DeviceModels> deviceModels = new ArrayList<>();
    private final List<ExecutorService> deviceThreads = new ArrayList<>();
    private ConsumerClientMetrics clientMetrics;
    private volatile boolean running;
    private volatile long handBackAt;

    JobConsumers(JobProcessor processor, List<DiffusionModelProvider> providers, WorkerProperties properties,
            WorkerIdentity identity, KafkaProperties kafkaProperties, MeterRegistry meters, GpuMetrics gpus,
            ModelAdvertiser advertiser, JobAdmission admission, PoolMembership pools) {
        this.processor = processor;
        this.providers = providers;
        this.properties = properties;
        this.identity = identity;
        this.kafkaProperties = kafkaProperties;
        this.meters = meters;
        this.gpus = gpus;
        this.advertiser = advertiser;
        this.admission = admission;
        this.pools = pools;
    }

    @Override
    public void start() {
        warmUpImaging();
        List<DiffusionModelProvider> selected = selectedProviders();
        clientMetrics = new ConsumerClientMetrics(meters);
        int deliveryLimit = configureShareGroup();
        if (properties.source() == WorkerProperties.Source.LANES) {
            pools.join(new Pool(properties.pool(), selected.stream().map(DiffusionModelProvider::name).toList()));
        }
        JobLoop.Timing timing = new JobLoop.Timing(POLL_TIMEOUT, RETRY_BACK_OFF, RENEW_EVERY);
        for (Device device : Devices.resolve(properties.devices(), gpus.gpuCount())) {
            DeviceModels models = DeviceModels.open(device, selected);
            deviceModels.add(models);
            // The device's consumers take turns on it (DeviceGate) and run its model on one thread.
            ExecutorService thread = JobLoop.deviceThread(device.name());
            deviceThreads.add(thread);
            DeviceGate gate = new DeviceGate();
            int consumers = properties.consumersPerDevice();
            for (int k = 1; k <= consumers; k++) {
                String clientId = identity.id() + "-" + device.name() + (k == 1 ? "" : Topics.WORKER_CONSUMER_SUFFIX + k);
                KafkaShareConsumer<String, byte[]> consumer = new KafkaShareConsumer<>(
                        shareConsumerConfig(clientId), new StringDeserializer(), new ByteArrayDeserializer());
                clientMetrics.shareConsumerAdded(clientId, consumer);
                String name = "consumer " + device.name() + (k == 1 ? "" : " #" + k);
                JobLoop loop = new JobLoop(name, topic(), consumer, admission,
                        (jobs, handBack) -> processor.process(jobs, models, handBack), this::handingBack, timing,
                        properties.maxBatch(), processor::batchKey, deliveryLimit, System::nanoTime, thread, gate,
                        consumers > 1);
                startLoop(device, k, loop, loop::stop, selected);
            }
        }
        Map<String, ModelCard> cards = new LinkedHashMap<>();
        deviceModels.forEach(models -> models.cards().forEach(card -> cards.putIfAbsent(card.name(), card)));
        advertiser.advertise(cards.values());
        running = true;
    }

    private void startLoop(Device device, int k, Runnable loop, Runnable stop,
            List<DiffusionModelProvider> selected) {
        Thread thread = new Thread(loop, "diffq-consumer-" + device.name() + (k == 1 ? "" : "-" + k));
        loops.put(thread, stop);
        thread.start();
        log.info("consumer {} for {} started on {} in share group {} serving {}", k, device.name(), topic(), group(),
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

    /**
     * The share group's settings, set at every start (the same values from every worker): it starts at the
     * oldest job (a share group's default is the newest, which would skip jobs accepted before any worker ran),
     * and the broker delivers a record {@code max-attempts} + 1 + {@link #HAND_BACKS} times at most: each attempt,
     * one more delivery in which a job whose workers were all lost ends FAILED and dead-lettered, and room for
     * deliveries handed back on shutdown (not attempts). Past the limit the broker would archive the record with
     * no state written, so the worker never releases the last delivery.
     *
     * @return the delivery count limit
     */
    private int configureShareGroup() {
        int limit = properties.maxAttempts() + 1 + HAND_BACKS;
        List<AlterConfigOp> configs = new ArrayList<>(List.of(set("share.auto.offset.reset", "earliest"),
                set("share.delivery.count.limit", String.valueOf(limit))));
        if (properties.source() == WorkerProperties.Source.LANES) {
            // A release the dispatcher aborted would never be a job, should it write in transactions (it does not
            // today: a share group delivers a transactional record only at its next fetch).
            configs.add(set("share.isolation.level", "read_committed"));
        }
        try (Admin admin = Admin.create(kafkaProperties.buildAdminProperties())) {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, group()), configs))
                    .all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("could not configure share group " + group() + " (needs "
                    + "Kafka 4.3 or newer, and group.share.max.delivery.count.limit >= " + limit + " on the brokers)",
                    e);
        }
        return limit;
    }

    private static AlterConfigOp set(String name, String value) {
        return new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET);
    }

    /** The share consumer: explicit acknowledgement, no more records than one batch takes. */
    private Map<String, Object> shareConsumerConfig(String clientId) {
        Map<String, Object> config = new HashMap<>(kafkaProperties.buildConsumerProperties());
        // Settings a share consumer refuses (the group's configuration holds their equivalents).
        List.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG,
                ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG,
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG)
                .forEach(config::remove);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group());
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
        config.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, properties.maxBatch());
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, (int) FETCH_MAX_WAIT.toMillis());
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        if (properties.consumersPerDevice() > 1) {
            // A consumer waiting for its device's turn does not poll while another runs a job (up to
            // max-job-duration) or holds the turn idle (JobLoop.HAND_OVER_IDLE): past this it would leave the group.
            config.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) maxPollInterval().toMillis());
        }
        return config;
    }

    /** The share group this worker's consumers join: the lanes' group, or the one on {@code diffq.jobs}. */
    private String group() {
        return properties.source() == WorkerProperties.Source.LANES ? Topics.LANE_GROUP : Topics.WORKER_GROUP;
    }

    /** The topic this worker takes jobs from: its pool's lane, or {@code diffq.jobs}. */
    private String topic() {
        return properties.source() == WorkerProperties.Source.LANES ? Topics.lane(properties.pool()) : Topics.JOBS;
    }

    /** With consumers sharing a device: twice the longest a consumer may wait for its turn. */
    Duration maxPollInterval() {
        Duration wait = properties.maxJobDuration().compareTo(JobLoop.HAND_OVER_IDLE) > 0 ? properties.maxJobDuration()
                : JobLoop.HAND_OVER_IDLE;
        return wait.multipliedBy(2);
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
        deviceThreads.forEach(ExecutorService::shutdownNow);
        deviceThreads.clear();
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
