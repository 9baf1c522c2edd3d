package io.diffq.gateway.lanes;

import io.diffq.common.job.JobRequest;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.Pool;
import io.diffq.gateway.queue.BacklogProperties;
import io.diffq.gateway.queue.QueueMonitor;
import io.diffq.gateway.status.FleetStats;
import io.diffq.gateway.status.JobStatusView;
import io.diffq.kafka.NoGroupConsumerConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Releases waiting jobs into the lanes of the worker pools that serve their models, in the order of the
 * {@link LaneScheduler} (priority classes with starvation credits, deficit round robin between API keys), at the rate
 * the pools' devices take them (docs/design/lanes.md §5). Every gateway with {@code diffq.gateway.dispatch.enabled}
 * runs one; the holder of the {@link DispatchLease} leads:
 * <ol>
 * <li>On taking the lead it opens an idempotent producer and, before its first release to a pool, reads the pool's
 * lane from shortly before the oldest live job was accepted, so a job a previous leader released is not released
 * again.</li>
 * <li>It then keeps the scheduler in step with the status view (jobs waiting with their first request, taken out when
 * they are no longer waiting) and, whenever the view changes or at least every {@link #TICK}, gives each pool
 * {@code devices × (1 + ahead-per-device) − in flight} jobs (in flight: released and not ended), after checking
 * that it still holds the lease in the term it began with, and waits until the broker has every release.
 * A pool's devices are the devices of its members in the lanes' share group, read every {@link #DEVICES_EVERY}.</li>
 * <li>Any failure ends the lead's state; the next cycle takes the lead again from the topics, so no state survives a
 * failure that the topics do not hold.</li>
 * </ol>
 * <p>Releases are not transactional: a share group delivers a record written in a transaction only at its next fetch
 * after the commit, about 140 ms later on Kafka 4.3.1 whatever its isolation level (measured; an idempotent write is
 * delivered in about 12 ms), which cut the drain to an eighth. So a previous leader is not fenced by the broker: one
 * paused past its session that resumes mid-release can write a release after the new leader read the lane. A worker
 * skips such a repeat in the same lane ({@code RepeatIndex}: the first record of an id in a lane is the job); a job
 * of a model two pools serve could then run in both. Each record carries the lease's term
 * ({@code diffq-lease-term}) to tell such a release apart.
 *
 * <p>A job whose model no pool serves waits, unrouted, until a pool declaring it appears; a pool without a device gets
 * nothing (its jobs wait for a worker to join). A lane record is the job's first request (its bytes as the view read
 * them, re-encoded), keyed by job id, with the headers {@code diffq-priority}, {@code diffq-owner},
 * {@code diffq-intake} (partition/offset in {@code diffq.jobs}) and {@code diffq-released-at}.
 */
@Component
public class LaneDispatcher implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(LaneDispatcher.class);
    static final Duration TICK = Duration.ofMillis(100);
    static final Duration DEVICES_EVERY = Duration.ofSeconds(1);
    /** How far before the oldest live job's acceptance a new leader reads the lanes (another machine's clock). */
    static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final String ANONYMOUS = "anonymous";
    /** The order waiting jobs join the scheduler in: acceptance, then their place in {@code diffq.jobs}. */
    static final Comparator<JobStatusView.Waiting> ACCEPTANCE_ORDER = Comparator
            .comparing((JobStatusView.Waiting w) -> w.request().createdAt(),
                    Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparingInt(JobStatusView.Waiting::partition).thenComparingLong(JobStatusView.Waiting::offset);

    private final DispatchProperties properties;
    private final PoolCatalog pools;
    private final JobStatusView view;
    private final FleetStats fleet;
    private final BacklogProperties backlog;
    private final JobCodec codec;
    private final KafkaProperties kafkaProperties;
    private final MeterRegistry meters;
    private final Clock clock;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private boolean woken;

    private volatile boolean running;
    private Thread thread;
    private DispatchLease lease;
    private Admin admin;
    /** The lead's state; {@code null} while this gateway does not lead. Touched by the dispatcher's thread only. */
    private volatile Lead lead;
    private volatile int waiting;
    private volatile Map<String, Integer> waitingByModel = Map.of();
    private volatile int unrouted;
    /** When the devices were last read ({@link System#nanoTime()}); far enough back that the first cycle reads them. */
    private long devicesAt = System.nanoTime() - DEVICES_EVERY.toNanos() - 1;
    private MultiGauge poolBacklog;
    private MultiGauge poolDevices;
    private Map<String, Integer> devices = Map.of();

    LaneDispatcher(DispatchProperties properties, PoolCatalog pools, JobStatusView view, FleetStats fleet,
            BacklogProperties backlog, JobCodec codec, KafkaProperties kafkaProperties, MeterRegistry meters,
            Clock clock) {
        this.properties = properties;
        this.pools = pools;
        this.view = view;
        this.fleet = fleet;
        this.backlog = backlog;
        this.codec = codec;
        this.kafkaProperties = kafkaProperties;
        this.meters = meters;
        this.clock = clock;
    }

    private record Released(String pool, String model) {
    }

    /** A job the scheduler gave a pool in this cycle. */
    private record Chosen(LaneScheduler.Job job, String pool) {
    }

    /** What the leader holds. */
    private final class Lead {
        final long term;
        final KafkaProducer<String, byte[]> producer;
        final LaneScheduler scheduler;
        /** Jobs released and not known to have ended, by id: the pool they went to and their model. */
        final Map<String, Released> released = new HashMap<>();
        /** Pools whose lane this lead has read (releases of earlier leaders known), before it releases to them. */
        final Set<String> lanesRead = new HashSet<>();
        /** Jobs in the scheduler, with their requests. */
        final Map<String, JobStatusView.Waiting> scheduled = new HashMap<>();

        Lead(long term, KafkaProducer<String, byte[]> producer) {
            this.term = term;
            this.producer = producer;
            this.scheduler = new LaneScheduler(properties.starvationCredit(), LaneDispatcher.this::cost,
                    properties::weight);
        }
    }

    /** Jobs waiting in the leader's order, not released yet (0 on a gateway that does not lead). */
    public int waiting() {
        return waiting;
    }

    /** As {@link #waiting()}, of one model, as of the last time the leader's order was brought in step with the view. */
    public int waiting(String model) {
        return waitingByModel.getOrDefault(model, 0);
    }

    /** Whether this gateway leads the dispatch now. */
    public boolean leads() {
        return lead != null;
    }

    @Override
    public void start() {
        if (!properties.enabled()) {
            return;
        }
        running = true;
        admin = Admin.create(kafkaProperties.buildAdminProperties());
        Gauge.builder("diffq.dispatch.leader", this, d -> d.leads() ? 1 : 0)
                .description("1 on the gateway that leads the dispatch, 0 on the others").register(meters);
        Gauge.builder("diffq.dispatch.waiting", this, d -> d.waiting)
                .description("Jobs waiting in the dispatcher's order, not yet released to a lane (on the leader)")
                .register(meters);
        Gauge.builder("diffq.dispatch.unrouted", this, d -> d.unrouted)
                .description("Waiting jobs whose model no pool serves (on the leader)").register(meters);
        poolBacklog = MultiGauge.builder("diffq.pool.backlog.seconds")
                .description("Work for a worker pool, in device-seconds: jobs released to it and not ended, and "
                        + "waiting jobs of its models (split between the pools serving a model), at the model's "
                        + "recent device time (on the leading gateway; what KEDA scales each pool by)")
                .baseUnit("seconds").register(meters);
        poolDevices = MultiGauge.builder("diffq.pool.devices")
                .description("Devices of a worker pool in the lanes' share group (on the leading gateway)")
                .register(meters);
        view.afterEachBatch(this::wake);
        lease = new DispatchLease(kafkaProperties.buildConsumerProperties(), "diffq-gateway-dispatch-" + hostAndPid(),
                properties.leaseSession(), this::wake);
        thread = new Thread(this::run, "diffq-dispatcher");
        thread.setDaemon(true);
        thread.start();
        lease.start();
    }

    @Override
    public void stop() {
        running = false;
        wake();
        if (lease != null) {
            lease.close();
        }
        if (thread != null) {
            try {
                thread.join(15_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    private void wake() {
        lock.lock();
        try {
            woken = true;
            wake.signal();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        while (running) {
            lock.lock();
            try {
                if (!woken) {
                    wake.await(TICK.toMillis(), TimeUnit.MILLISECONDS);
                }
                woken = false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } finally {
                lock.unlock();
            }
            try {
                cycle();
            } catch (RuntimeException e) {
                log.warn("dispatch cycle failed; the lead's state is dropped and read again from the topics: {}",
                        e.toString());
                stepDown();
                pause(Duration.ofSeconds(1));
            }
        }
        stepDown();
    }

    private void cycle() {
        if (!lease.held()) {
            stepDown();
            return;
        }
        if (!view.isCaughtUp() || !pools.isCaughtUp()) {
            return;
        }
        if (lead != null && lead.term != lease.term()) {
            stepDown();
        }
        if (lead == null) {
            lead = takeLead(lease.term());
        }
        long now = System.nanoTime();
        if (now - devicesAt > DEVICES_EVERY.toNanos()) {
            devicesAt = now;
            devices = devices();
            pools.ensureLanes();
        }
        sync(lead);
        release(lead);
        publishPools(lead);
    }

    /**
     * Per pool: its devices, and its backlog in device-seconds, the work KEDA sizes the pool by: jobs released to it
     * and not ended, and waiting jobs of its models (a model several pools serve split evenly between them), each at
     * its model's recent device time. Only the leader exports them (the others export none): aggregate with max.
     */
    private void publishPools(Lead l) {
        List<Pool> all = pools.pools();
        Map<String, Double> backlog = new HashMap<>();
        all.forEach(p -> backlog.put(p.name(), 0.0));
        for (Released r : l.released.values()) {
            backlog.computeIfPresent(r.pool(), (p, b) -> b + cost(r.model()));
        }
        Map<String, List<String>> servedBy = new HashMap<>();
        for (JobStatusView.Waiting w : l.scheduled.values()) {
            String model = w.request().model() == null ? "" : w.request().model();
            List<String> serving = servedBy.computeIfAbsent(model,
                    m -> all.stream().filter(p -> p.serves(m)).map(Pool::name).toList());
            for (String pool : serving) {
                backlog.merge(pool, cost(model) / serving.size(), Double::sum);
            }
        }
        List<MultiGauge.Row<?>> backlogRows = new ArrayList<>();
        List<MultiGauge.Row<?>> deviceRows = new ArrayList<>();
        backlog.forEach((pool, b) -> {
            backlogRows.add(MultiGauge.Row.of(Tags.of("pool", pool), b));
            deviceRows.add(MultiGauge.Row.of(Tags.of("pool", pool), devices.getOrDefault(pool, 0)));
        });
        poolBacklog.register(backlogRows, true);
        poolDevices.register(deviceRows, true);
    }

    private Lead takeLead(long term) {
        Map<String, Object> config = new HashMap<>(kafkaProperties.buildProducerProperties());
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        // A release is one record or a few, sent when a device frees: nothing to wait for.
        config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "diffq-gateway-dispatcher");
        KafkaProducer<String, byte[]> producer = new KafkaProducer<>(config, new StringSerializer(),
                new ByteArraySerializer());
        Lead l = new Lead(term, producer);
        log.info("leading the dispatch (term {}) over pools {}", term, pools.pools().stream().map(Pool::name).toList());
        return l;
    }

    /**
     * Reads the pool's lane (its releases) from before the oldest live job's acceptance to its end, so that a
     * job an earlier leader released there is in flight, not waiting.
     */
    private void readReleases(Lead l, String pool) {
        Optional<Instant> oldest = view.oldestLiveAcceptedAt();
        if (oldest.isEmpty()) {
            return;
        }
        long since = oldest.get().minus(CLOCK_SKEW).toEpochMilli();
        Map<String, Object> config = NoGroupConsumerConfig.of(kafkaProperties.buildConsumerProperties(),
                "diffq-gateway-dispatch-releases");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, IsolationLevel.READ_COMMITTED.toString());
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            TopicPartition lane = new TopicPartition(Topics.lane(pool), 0);
            consumer.assign(List.of(lane));
            OffsetAndTimestamp start = consumer.offsetsForTimes(Map.of(lane, since), TIMEOUT).get(lane);
            long end = consumer.endOffsets(List.of(lane), TIMEOUT).get(lane);
            consumer.seek(lane, start == null ? end : start.offset());
            // However long the lane is (a job live for days sends the read back days), the read goes on while it
            // makes progress: a time limit on the whole read would stop a leader from ever releasing.
            long progressBy = System.nanoTime() + TIMEOUT.toNanos();
            while (consumer.position(lane, TIMEOUT) < end) {
                if (System.nanoTime() > progressBy) {
                    throw new IllegalStateException("reading lane " + pool + " made no progress in " + TIMEOUT);
                }
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(200));
                if (!records.isEmpty()) {
                    progressBy = System.nanoTime() + TIMEOUT.toNanos();
                }
                for (ConsumerRecord<String, byte[]> r : records) {
                    if (r.key() != null) {
                        l.released.put(r.key(), new Released(pool, modelOf(r.value())));
                        // Released by an earlier leader: not the scheduler's to release again.
                        if (l.scheduled.remove(r.key()) != null) {
                            l.scheduler.remove(r.key());
                        }
                    }
                }
            }
        }
        forgetEnded(l);
    }

    /** Devices per pool: the members of the lanes' share group, by the lane each is assigned, a device counted once. */
    private Map<String, Integer> devices() {
        ShareGroupDescription group;
        try {
            group = admin.describeShareGroups(List.of(Topics.LANE_GROUP)).describedGroups().get(Topics.LANE_GROUP)
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof GroupIdNotFoundException) {
                return Map.of();
            }
            log.warn("could not describe {}: {}", Topics.LANE_GROUP, e.getCause().toString());
            return devices;
        } catch (Exception e) {
            log.warn("could not describe {}: {}", Topics.LANE_GROUP, e.toString());
            return devices;
        }
        return QueueMonitor.devicesByPool(group);
    }

    /** Brings the scheduler in step with the view: new waiting jobs in acceptance order; jobs no longer waiting out. */
    private void sync(Lead l) {
        List<JobStatusView.Waiting> added = new ArrayList<>();
        Set<String> stillWaiting = new HashSet<>();
        view.forEachWaiting(w -> {
            String id = w.request().id();
            stillWaiting.add(id);
            if (!l.scheduled.containsKey(id) && !l.released.containsKey(id)) {
                added.add(w);
            }
        });
        added.sort(ACCEPTANCE_ORDER);
        for (JobStatusView.Waiting w : added) {
            l.scheduler.add(job(w.request()));
            l.scheduled.put(w.request().id(), w);
        }
        l.scheduled.keySet().removeIf(id -> {
            if (stillWaiting.contains(id)) {
                return false;
            }
            l.scheduler.remove(id);
            return true;
        });
        forgetEnded(l);
        waiting = l.scheduler.waiting();
        List<Pool> all = pools.pools();
        int none = 0;
        Map<String, Integer> byModel = new HashMap<>();
        for (JobStatusView.Waiting w : l.scheduled.values()) {
            String model = w.request().model() == null ? "" : w.request().model();
            byModel.merge(model, 1, Integer::sum);
            if (all.stream().noneMatch(p -> p.serves(model))) {
                none++;
            }
        }
        unrouted = none;
        waitingByModel = byModel;
    }

    /** Drops released jobs the view shows as ended (or no longer holds). */
    private void forgetEnded(Lead l) {
        l.released.keySet().removeIf(id -> view.peek(id).map(s -> s.state().isTerminal()).orElse(true));
    }

    private void release(Lead l) {
        Map<String, Integer> inFlight = new HashMap<>();
        l.released.values().forEach(r -> inFlight.merge(r.pool(), 1, Integer::sum));
        List<ProducerRecord<String, byte[]>> records = new ArrayList<>();
        List<Chosen> chosen = new ArrayList<>();
        for (Pool pool : pools.pools()) {
            if (!pools.laneReady(pool.name())) {
                continue;
            }
            if (l.lanesRead.add(pool.name())) {
                readReleases(l, pool.name());
                inFlight.clear();
                l.released.values().forEach(r -> inFlight.merge(r.pool(), 1, Integer::sum));
            }
            int budget = devices.getOrDefault(pool.name(), 0) * (1 + properties.aheadPerDevice())
                    - inFlight.getOrDefault(pool.name(), 0);
            while (budget > 0) {
                Optional<LaneScheduler.Job> next = l.scheduler.next(pool);
                if (next.isEmpty()) {
                    break;
                }
                JobStatusView.Waiting w = l.scheduled.get(next.get().id());
                records.add(record(pool, w));
                chosen.add(new Chosen(next.get(), pool.name()));
                budget--;
            }
        }
        if (records.isEmpty()) {
            return;
        }
        if (!lease.held() || lease.term() != l.term) {
            throw new IllegalStateException("the lease moved (term " + l.term + ", now " + lease.term() + ")");
        }
        List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
        records.forEach(r -> {
            r.headers().add("diffq-lease-term", utf8(String.valueOf(l.term)));
            sent.add(l.producer.send(r));
        });
        for (java.util.concurrent.Future<?> f : sent) {
            try {
                f.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while releasing", e);
            } catch (Exception e) {
                // What was written is read back by the next lead; what was not is still waiting in the view.
                throw new IllegalStateException("a release failed: " + e, e);
            }
        }
        for (Chosen c : chosen) {
            l.released.put(c.job().id(), new Released(c.pool(), c.job().model()));
            l.scheduled.remove(c.job().id());
            Counter.builder("diffq.dispatch.released").description("Jobs released to a pool's lane")
                    .tag("pool", c.pool()).tag("priority", c.job().priority().apiName()).register(meters).increment();
        }
        waiting = l.scheduler.waiting();
        Map<String, Integer> byModel = new HashMap<>(waitingByModel);
        for (Chosen c : chosen) {
            byModel.computeIfPresent(c.job().model(), (m, n) -> n - 1);
        }
        waitingByModel = byModel;
    }

    private String modelOf(byte[] request) {
        try {
            String model = codec.readRequest(request).model();
            return model == null ? "" : model;
        } catch (RuntimeException e) {
            return "";
        }
    }

    private ProducerRecord<String, byte[]> record(Pool pool, JobStatusView.Waiting w) {
        JobRequest r = w.request();
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.lane(pool.name()), 0, r.id(),
                codec.writeRequest(r));
        record.headers().add("diffq-priority", utf8(r.priority().apiName()));
        record.headers().add("diffq-owner", utf8(r.owner() == null ? ANONYMOUS : r.owner()));
        record.headers().add("diffq-intake", utf8(w.partition() + "/" + w.offset()));
        record.headers().add("diffq-released-at", utf8(clock.instant().toString()));
        return record;
    }

    /** A job's cost in the scheduler: its model's recent device time, else the configured default. */
    private double cost(String model) {
        return cost(fleet, backlog, model);
    }

    /** A job's cost in the scheduler, in seconds: its model's recent device time, else the configured default. */
    static double cost(FleetStats fleet, BacklogProperties backlog, String model) {
        return fleet.recentServiceTime(model).orElse(backlog.defaultFor(model)).toNanos() / 1e9;
    }

    /** A waiting job as the scheduler takes it: no model is {@code ""}, no owner {@code anonymous}. */
    static LaneScheduler.Job job(JobRequest r) {
        return new LaneScheduler.Job(r.id(), r.model() == null ? "" : r.model(),
                r.owner() == null ? ANONYMOUS : r.owner(), r.priority());
    }

    private void stepDown() {
        Lead l = lead;
        lead = null;
        waiting = 0;
        unrouted = 0;
        if (poolBacklog != null) {
            poolBacklog.register(List.of(), true);
            poolDevices.register(List.of(), true);
        }
        if (l != null) {
            l.producer.close(Duration.ZERO);
            log.info("no longer leading the dispatch (term {})", l.term);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void pause(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String hostAndPid() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "unknown";
        }
        return host + "-" + ProcessHandle.current().pid();
    }
}
