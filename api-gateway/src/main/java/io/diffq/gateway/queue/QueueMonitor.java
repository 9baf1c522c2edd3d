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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.admin.ShareMemberDescription;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Watches the queue from the outside, through the admin API: lag of the worker share group on every
 * partition of {@code diffq.jobs}, the age of the oldest job no worker has taken, and how many workers there
 * are. It needs no worker to be running — the case where lag matters most and the workers' own metrics are
 * gone.
 *
 * <p>The workers consume as the share group {@value Topics#WORKER_GROUP} (KIP-932). A share group commits no
 * offset: per partition it has a share-partition start offset (SPSO), before which every record is done
 * (acknowledged or archived); from it on, a record may be available, acquired by a worker (in flight), or
 * already acknowledged out of order. So:
 * <ul>
 * <li><b>lag</b> of a partition = the records not finished: waiting and in flight (in a worker's hands), not
 * those acknowledged. That is the broker's share-partition lag (KIP-1226, what
 * {@code kafka-share-groups.sh --describe --offsets} shows): log end − SPSO − the records from the SPSO on that
 * are already acknowledged or archived. Where the broker has no lag for a partition (its share-partition state
 * holds no count yet) it is log end − SPSO, which also counts records finished out of order behind an
 * unfinished one; where the group has no SPSO for it (no worker has fetched it, or there is no group at all)
 * log end − log start, as the workers set {@code share.auto.offset.reset=earliest}. Not log end − SPSO alone:
 * the SPSO the admin API reports can stay behind records that are all acknowledged (seen on Kafka 4.3.1: SPSO 0,
 * lag 0, with every record of the partition accepted and the group idle), so an idle queue would keep showing
 * its last jobs as lag.</li>
 * <li><b>oldest wait</b> = the age (record timestamp: the gateway's send time) of the oldest record, from each
 * partition with lag from its SPSO on, whose job the status view does not know as taken (RUNNING or ended): a
 * share group tells who holds a record only to the holder, so the job's own events say whether it is in
 * hand.</li>
 * <li><b>workers</b> = devices in the share group: its members, a device's several consumers counted once.</li>
 * </ul>
 */
@Component
public class QueueMonitor implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(QueueMonitor.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    /**
     * At most this many records are read from a partition's SPSO on to find the first job not taken: the
     * broker's default in-flight limit per share-partition ({@code group.share.partition.max.record.locks}),
     * beyond which no record can have been acquired.
     */
    static final int SCAN_LIMIT = 2000;
    private static final int PEEK = 100;

    private final KafkaProperties kafkaProperties;
    /**
     * Whether workers read lanes (the dispatcher is enabled): then {@code diffq.jobs} is only the intake, and the
     * queue is read from the view instead (below).
     */
    private final boolean lanes;
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
    private boolean warnedNotShare;
    /** Why the latest reading failed; null while the latest one succeeded (or none was tried yet). */
    private volatile String unreachable;

    public QueueMonitor(KafkaProperties kafkaProperties, JobStatusView view, QueueProperties properties,
            Clock clock, MeterRegistry meters,
            @Value("${diffq.gateway.dispatch.enabled:false}") boolean lanes) {
        this.lanes = lanes;
        this.kafkaProperties = kafkaProperties;
        this.view = view;
        this.properties = properties;
        this.clock = clock;
        this.lag = MultiGauge.builder(MetricNames.QUEUE_LAG_RECORDS)
                .description("Jobs of diffq.jobs the worker share group has not finished, per partition: waiting and"
                        + " in flight (the broker's share-partition lag; log end - start offset where it has none)")
                .baseUnit("records")
                .register(meters);
        Gauge.builder(MetricNames.QUEUE_OLDEST_WAIT, this, m -> m.snapshot.oldestWait().toMillis() / 1000.0)
                .description("Age of the oldest job that no worker has taken yet")
                .baseUnit("seconds")
                .register(meters);
        Gauge.builder(MetricNames.WORKERS, this, m -> m.snapshot.workers())
                .description("Members of the worker share group (one per worker device)")
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
        if (lanes) {
            return readWithLanes();
        }
        long admittedBefore = admitted.get();
        List<TopicPartition> partitions = admin.describeTopics(List.of(Topics.JOBS)).allTopicNames()
                .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(Topics.JOBS).partitions().stream()
                .map(p -> new TopicPartition(Topics.JOBS, p.partition())).toList();
        Map<TopicPartition, Long> end = offsets(partitions, OffsetSpec.latest());
        Map<TopicPartition, Long> start = offsets(partitions, OffsetSpec.earliest());
        Optional<ShareGroupDescription> group = group();
        Map<TopicPartition, SharePartitionOffsetInfo> spso = group.isPresent() ? startOffsets() : Map.of();

        Map<Integer, Long> lagByPartition = new HashMap<>();
        Map<TopicPartition, Long> next = new HashMap<>();
        for (TopicPartition tp : partitions) {
            SharePartitionOffsetInfo s = spso.get(tp);
            long l = lag(s, start.get(tp), end.get(tp));
            lagByPartition.put(tp.partition(), l);
            if (l > 0) {
                next.put(tp, from(s, start.get(tp)));
            }
        }
        return new QueueSnapshot(lagByPartition, oldestWaiting(next, end),
                devices(group), Map.of(), admittedBefore);
    }

    /** A share group's devices: its members, a device's several consumers counted once. */
    private static int devices(Optional<ShareGroupDescription> group) {
        return group.map(g -> (int) g.members().stream().map(m -> Topics.workerDevice(m.clientId())).distinct()
                .count()).orElse(0);
    }

    /**
     * With lanes, {@code diffq.jobs} is read by no share group, so its lag would count every job it holds. The queue
     * is then: waiting = the jobs the status view holds as {@code QUEUED} (waiting in the dispatcher or released and
     * not started; its counts are at most a second old), reported as partition 0; the oldest wait from the view; the
     * workers = the devices of the lanes' share group.
     */
    private QueueSnapshot readWithLanes() throws Exception {
        long admittedBefore = admitted.get();
        long queued = view.queuedByModel().values().stream().mapToLong(Long::longValue).sum();
        Duration oldest = view.oldestWaitingAcceptedAt()
                .map(t -> Duration.between(t, clock.instant()))
                .filter(d -> !d.isNegative())
                .orElse(Duration.ZERO);
        Optional<ShareGroupDescription> group = group(Topics.LANE_GROUP);
        return new QueueSnapshot(Map.of(0, queued), oldest,
                devices(group), group.map(QueueMonitor::devicesByPool).orElse(Map.of()), admittedBefore);
    }

    /** Devices per pool: the members of the lanes' share group by the lane each is assigned, a device counted once. */
    public static Map<String, Integer> devicesByPool(ShareGroupDescription lanes) {
        Map<String, Set<String>> byPool = new HashMap<>();
        for (ShareMemberDescription m : lanes.members()) {
            for (TopicPartition tp : m.assignment().topicPartitions()) {
                if (tp.topic().startsWith(Topics.LANE_PREFIX)) {
                    byPool.computeIfAbsent(tp.topic().substring(Topics.LANE_PREFIX.length()), k -> new HashSet<>())
                            .add(Topics.workerDevice(m.clientId()));
                }
            }
        }
        Map<String, Integer> counts = new HashMap<>();
        byPool.forEach((pool, d) -> counts.put(pool, d.size()));
        return counts;
    }

    /**
     * A partition's records not finished by the group: the broker's share-partition lag where it has one,
     * else from {@link #from} to the log end.
     *
     * @param share the group's offsets of the partition; null where it has no start offset
     */
    static long lag(SharePartitionOffsetInfo share, long logStart, long logEnd) {
        if (share != null && share.lag().isPresent()) {
            return Math.max(0, share.lag().get());
        }
        return Math.max(0, logEnd - from(share, logStart));
    }

    /**
     * Where a partition's unfinished records may begin: its SPSO, or the log start where the group has none
     * yet (the workers' {@code share.auto.offset.reset=earliest} starts it there), never before the log start
     * (retention may have deleted records the group never finished).
     */
    static long from(SharePartitionOffsetInfo share, long logStart) {
        return Math.max(share == null ? 0 : share.startOffset(), logStart);
    }

    /** The worker share group, or empty while there is none (no worker has ever joined). */
    private Optional<ShareGroupDescription> group() throws Exception {
        return group(Topics.WORKER_GROUP);
    }

    private Optional<ShareGroupDescription> group(String groupId) throws Exception {
        try {
            return Optional.of(admin.describeShareGroups(List.of(groupId)).describedGroups()
                    .get(groupId).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GroupIdNotFoundException notFound) {
                // The broker says so too for a group of another type: consumer-group workers of an older release.
                if (!warnedNotShare && String.valueOf(notFound.getMessage()).contains("not a share group")) {
                    log.warn("{} is not a share group ({}): the queue is read as if no worker had taken a job",
                            Topics.WORKER_GROUP, notFound.getMessage());
                    warnedNotShare = true;
                }
                return Optional.empty();
            }
            throw e;
        }
    }

    /** The group's share-partition start offsets; a partition it has not initialised yet is absent. */
    private Map<TopicPartition, SharePartitionOffsetInfo> startOffsets() throws Exception {
        try {
            Map<TopicPartition, SharePartitionOffsetInfo> offsets = admin
                    .listShareGroupOffsets(Map.of(Topics.WORKER_GROUP, new ListShareGroupOffsetsSpec()))
                    .partitionsToOffsetInfo(Topics.WORKER_GROUP).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            Map<TopicPartition, SharePartitionOffsetInfo> known = new HashMap<>();
            // The admin client maps a partition without a start offset to null.
            offsets.forEach((tp, info) -> {
                if (info != null) {
                    known.put(tp, info);
                }
            });
            return known;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return Map.of();
            }
            throw e;
        }
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
     * The age of the oldest job not yet taken: per partition with lag, the first record from the SPSO on that the
     * status view does not know as taken (running or ended: records from the SPSO on may be in workers' hands
     * or finished out of order), by the record's timestamp (the gateway's send time). At most
     * {@value #SCAN_LIMIT} records are read per partition.
     */
    private Duration oldestWaiting(Map<TopicPartition, Long> from, Map<TopicPartition, Long> end) {
        long oldest = Long.MAX_VALUE;
        for (Map.Entry<TopicPartition, Long> e : from.entrySet()) {
            TopicPartition tp = e.getKey();
            peeker.assign(List.of(tp));
            peeker.seek(tp, e.getValue());
            long limit = Math.min(end.get(tp), e.getValue() + SCAN_LIMIT);
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
