package io.diffq.gateway.queue;

import io.diffq.common.kafka.Topics;
import io.diffq.common.metrics.MetricNames;
import io.diffq.gateway.status.JobStatusView;
import io.diffq.kafka.NoGroupConsumerConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Watches the queue from the outside, through the admin API: lag of the worker group on every partition
 * of {@code diffq.jobs}, the age of the oldest job no worker has taken, and how many workers there are.
 * It needs no worker to be running — the case where lag matters most and the workers' own consumer
 * metrics are gone.
 */
@Component
public class QueueMonitor implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(QueueMonitor.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** Records read from the committed offset on: the first may be a job a worker has in hand. */
    private static final int PEEK = 4;

    private final KafkaProperties kafkaProperties;
    private final JobStatusView view;
    private final QueueProperties properties;
    private final Clock clock;
    private final MultiGauge lag;
    private volatile QueueSnapshot snapshot = QueueSnapshot.EMPTY;
    /** Jobs this instance admitted, ever. */
    private final AtomicLong admitted = new AtomicLong();
    private ScheduledExecutorService scheduler;
    private Admin admin;
    private KafkaConsumer<String, byte[]> peeker;
    private boolean warned;
    /** Why the latest reading failed; null while the latest one succeeded (or none was tried yet). */
    private volatile String unreachable;

    public QueueMonitor(KafkaProperties kafkaProperties, JobStatusView view, QueueProperties properties,
            Clock clock, MeterRegistry meters) {
        this.kafkaProperties = kafkaProperties;
        this.view = view;
        this.properties = properties;
        this.clock = clock;
        this.lag = MultiGauge.builder(MetricNames.QUEUE_LAG_RECORDS)
                .description("Jobs not yet committed by the worker group, per partition (log end - committed offset)")
                .baseUnit("records")
                .register(meters);
        Gauge.builder(MetricNames.QUEUE_OLDEST_WAIT, this, m -> m.snapshot.oldestWait().toMillis() / 1000.0)
                .description("Age of the oldest job that no worker has taken yet")
                .baseUnit("seconds")
                .register(meters);
        Gauge.builder(MetricNames.WORKERS, this, m -> m.snapshot.workers())
                .description("Members of the worker consumer group")
                .register(meters);
    }

    /** The latest reading. */
    public QueueSnapshot snapshot() {
        return snapshot;
    }

    /** Why the latest reading of the queue failed, or empty while the broker answers. */
    public Optional<String> unreachable() {
        return Optional.ofNullable(unreachable);
    }

    /**
     * Jobs waiting as this instance can tell: {@code q}'s lag plus the jobs it admitted since {@code q}'s
     * reading began (counted twice at worst, never missed: a burst cannot outrun the reading interval).
     */
    public long waiting(QueueSnapshot q) {
        return waiting(q, admitted.get());
    }

    private static long waiting(QueueSnapshot q, long admittedNow) {
        return q.totalLag() + admittedNow - q.admittedBefore();
    }

    /** Counts one more admitted job if no more than {@code maxWaiting} wait before it; whether it did. */
    boolean admitIfWaitingAtMost(QueueSnapshot q, long maxWaiting) {
        while (true) {
            long n = admitted.get();
            if (waiting(q, n) > maxWaiting) {
                return false;
            }
            if (admitted.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Reads lag, oldest wait and workers now; called on a schedule. */
    void refresh() {
        try {
            QueueSnapshot s = read();
            snapshot = s;
            List<MultiGauge.Row<?>> rows = new ArrayList<>();
            s.lagByPartition().forEach((p, l) -> rows.add(MultiGauge.Row.of(
                    Tags.of(MetricNames.TAG_TOPIC, Topics.JOBS, MetricNames.TAG_PARTITION, String.valueOf(p)), l)));
            lag.register(rows, true);
            warned = false;
            unreachable = null;
        } catch (Exception e) {
            unreachable = e.toString();
            if (!warned) {
                log.warn("queue monitor cannot read the queue: {}", e.toString());
                warned = true;
            }
        }
    }

    private QueueSnapshot read() throws Exception {
        long admittedBefore = admitted.get();
        List<TopicPartition> partitions = admin.describeTopics(List.of(Topics.JOBS)).allTopicNames()
                .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(Topics.JOBS).partitions().stream()
                .map(p -> new TopicPartition(Topics.JOBS, p.partition())).toList();
        Map<TopicPartition, Long> end = offsets(partitions, OffsetSpec.latest());
        Map<TopicPartition, Long> start = offsets(partitions, OffsetSpec.earliest());
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(Topics.WORKER_GROUP)
                .partitionsToOffsetAndMetadata().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);

        Map<Integer, Long> lagByPartition = new HashMap<>();
        Map<TopicPartition, Long> next = new HashMap<>();
        for (TopicPartition tp : partitions) {
            OffsetAndMetadata c = committed.get(tp);
            // No commit yet: the group (with auto.offset.reset=earliest) will start at the log start.
            long from = Math.max(c == null ? 0 : c.offset(), start.get(tp));
            long l = Math.max(0, end.get(tp) - from);
            lagByPartition.put(tp.partition(), l);
            if (l > 0) {
                next.put(tp, from);
            }
        }
        return new QueueSnapshot(lagByPartition, oldestWaiting(next, end), workers(), admittedBefore);
    }

    private Map<TopicPartition, Long> offsets(List<TopicPartition> partitions, OffsetSpec spec) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        partitions.forEach(tp -> request.put(tp, spec));
        Map<TopicPartition, Long> result = new HashMap<>();
        admin.listOffsets(request).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .forEach((tp, info) -> result.put(tp, info.offset()));
        return result;
    }

    /**
     * The age of the oldest job not yet taken: per partition, the first record from the committed offset on
     * that the status view does not know as started (the record at the committed offset may be in a
     * worker's hands), by the record's timestamp (the gateway's send time).
     */
    private Duration oldestWaiting(Map<TopicPartition, Long> from, Map<TopicPartition, Long> end) {
        long oldest = Long.MAX_VALUE;
        for (Map.Entry<TopicPartition, Long> e : from.entrySet()) {
            TopicPartition tp = e.getKey();
            peeker.assign(List.of(tp));
            peeker.seek(tp, e.getValue());
            long limit = Math.min(end.get(tp), e.getValue() + PEEK);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            search:
            while (peeker.position(tp) < limit && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : peeker.poll(Duration.ofMillis(200))) {
                    if (r.offset() >= limit) {
                        break search;
                    }
                    if (!view.isStarted(r.key())) {
                        oldest = Math.min(oldest, r.timestamp());
                        break search;
                    }
                }
            }
        }
        peeker.unsubscribe();
        return oldest == Long.MAX_VALUE ? Duration.ZERO
                : Duration.ofMillis(Math.max(0, clock.millis() - oldest));
    }

    private int workers() throws Exception {
        try {
            ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(Topics.WORKER_GROUP))
                    .describedGroups().get(Topics.WORKER_GROUP).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return group.members().size();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return 0;
            }
            throw e;
        }
    }

    @Override
    public void start() {
        admin = Admin.create(kafkaProperties.buildAdminProperties());
        Map<String, Object> config = NoGroupConsumerConfig.of(kafkaProperties.buildConsumerProperties(),
                "diffq-gateway-queue-monitor");
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, PEEK);
        peeker = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "diffq-queue-monitor");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::refresh, 0, properties.monitorInterval().toMillis(),
                TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() {
        if (scheduler != null) {
            scheduler.shutdownNow();
            try {
                scheduler.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (peeker != null) {
            peeker.close(Duration.ofSeconds(2));
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
        }
        scheduler = null;
    }

    @Override
    public boolean isRunning() {
        return scheduler != null;
    }
}
