package io.diffq.gateway.status;

import io.diffq.common.job.IllegalJobTransitionException;
import io.diffq.common.job.JobControl;
import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import io.diffq.common.metrics.MetricNames;
import io.diffq.gateway.GatewayProperties;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The status of every job, materialised from {@code diffq.jobs} (a request there is a queued job),
 * {@code diffq.job-events} and {@code diffq.job-controls} (cancel requests). Each gateway instance reads both topics from the beginning without a
 * consumer group, so any instance answers for any job and a restarted one rebuilds its view. A lookup of
 * an id not seen yet first catches up to the end of that id's partitions (read-your-writes across
 * instances) before it concludes the job does not exist.
 */
@Component
public class JobStatusView implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(JobStatusView.class);
    private static final List<String> TOPICS = List.of(Topics.JOBS, Topics.JOB_EVENTS, Topics.JOB_CONTROLS);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final Duration REFRESH_PARTITIONS = Duration.ofSeconds(30);

    private final Map<String, JobStatus> jobs = new ConcurrentHashMap<>();
    private final Map<String, Instant> cancelRequests = new ConcurrentHashMap<>();
    private final Throughput throughput = new Throughput();
    private final Map<String, Set<Consumer<JobStatus>>> watchers = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
    private final Map<String, Integer> partitionCounts = new ConcurrentHashMap<>();
    private final Object progress = new Object();
    private final JobCodec codec;
    private final KafkaProperties kafkaProperties;
    private final GatewayProperties properties;
    private final Clock clock;
    private final MeterRegistry meters;

    private volatile boolean running;
    private volatile Map<JobState, Long> stateCounts = Map.of();
    private volatile long stateCountsAt;
    private volatile Map<TopicPartition, Long> startupEnds;
    private volatile boolean caughtUp;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private Thread thread;
    private Admin admin;

    public JobStatusView(JobCodec codec, KafkaProperties kafkaProperties, GatewayProperties properties, Clock clock,
            MeterRegistry meters) {
        this.codec = codec;
        this.kafkaProperties = kafkaProperties;
        this.properties = properties;
        this.clock = clock;
        this.meters = meters;
        for (JobState state : JobState.values()) {
            Gauge.builder(MetricNames.JOBS_IN_STATE, this, v -> v.countInState(state))
                    .description("Jobs in each state in this gateway's view")
                    .tag(MetricNames.TAG_STATE, state.name())
                    .register(meters);
        }
    }

    /** Jobs in {@code state}, from a snapshot at most a second old (a scrape reads all six states). */
    private double countInState(JobState state) {
        long now = System.nanoTime();
        if (now - stateCountsAt > 1_000_000_000L) {
            Map<JobState, Long> counts = new EnumMap<>(JobState.class);
            jobs.values().forEach(s -> counts.merge(s.state(), 1L, Long::sum));
            stateCounts = counts;
            stateCountsAt = now;
        }
        return stateCounts.getOrDefault(state, 0L);
    }

    /**
     * Jobs this view knows to have been taken by a worker (running or finished); a job it does not know is
     * treated as waiting.
     */
    public boolean isStarted(String id) {
        JobStatus s = jobs.get(id);
        return s != null && s.state() != JobState.QUEUED;
    }

    /**
     * The job's status, waiting up to the read-your-writes timeout for the view to reach the end of the
     * job's partitions when the id is not known yet.
     */
    public Optional<JobStatus> find(String id) {
        if (!caughtUp) {
            // Still replaying the topics after a start: what the view holds may be older than the truth.
            awaitProgress(() -> caughtUp, System.nanoTime() + properties.readYourWritesTimeout().toNanos());
        }
        JobStatus known = jobs.get(id);
        if (known != null) {
            return Optional.of(known);
        }
        catchUp(id, properties.readYourWritesTimeout());
        return Optional.ofNullable(jobs.get(id));
    }

    /** Records a job this instance just stored, so that the client's first poll here never misses it. */
    public void accepted(JobRequest request) {
        jobs.merge(request.id(), JobStatus.queued(request),
                (current, queued) -> current.request() == null ? current.withRequest(request) : current);
    }

    /**
     * Calls {@code watcher} (on the view's thread; it must not block) with every later change of the job.
     *
     * @return a handle that stops the calls
     */
    public Runnable watch(String id, Consumer<JobStatus> watcher) {
        watchers.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(watcher);
        return () -> watchers.computeIfPresent(id, (k, set) -> {
            set.remove(watcher);
            return set.isEmpty() ? null : set;
        });
    }

    /** Records a cancel this instance just stored. */
    public void cancelRequested(JobControl control) {
        cancelRequests.putIfAbsent(control.jobId(), control.at());
    }

    /** When a client asked to cancel the job, if one did. */
    public Optional<Instant> cancelRequestedAt(String id) {
        return Optional.ofNullable(cancelRequests.get(id));
    }

    /** Jobs finished per second over the last minute, by every worker. */
    public double recentThroughput() {
        return throughput.perSecond(clock.instant().getEpochSecond());
    }

    /** How many jobs the view holds. */
    public int size() {
        return jobs.size();
    }

    /**
     * Whether the view has read everything that was on the topics when this instance started. Until then
     * it may show a job in an older state, so the instance reports itself not ready.
     */
    public boolean isCaughtUp() {
        return caughtUp;
    }

    private void catchUp(String id, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        // At start-up the view may not have found the topics' partitions yet.
        if (!awaitProgress(() -> partitionCounts.size() == TOPICS.size(), deadline)) {
            return;
        }
        Map<TopicPartition, Long> ends;
        try {
            ends = endOffsets(partitionsOf(id), timeout);
        } catch (Exception e) {
            log.debug("cannot read end offsets for {}: {}", id, e.toString());
            return;
        }
        awaitProgress(() -> reached(ends) || jobs.containsKey(id), deadline);
    }

    /**
     * Waits until {@code condition} holds, re-checking each time the view's thread has polled, or until
     * {@code deadline} (a {@link System#nanoTime()} value).
     *
     * @return whether the condition holds
     */
    private boolean awaitProgress(BooleanSupplier condition, long deadline) {
        synchronized (progress) {
            while (!condition.getAsBoolean()) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return false;
                }
                try {
                    progress.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    private Set<TopicPartition> partitionsOf(String id) {
        byte[] key = id.getBytes(StandardCharsets.UTF_8);
        Set<TopicPartition> tps = new HashSet<>();
        partitionCounts.forEach((topic, count) ->
                tps.add(new TopicPartition(topic, Utils.toPositive(Utils.murmur2(key)) % count)));
        return tps;
    }

    private Map<TopicPartition, Long> endOffsets(Set<TopicPartition> tps, Duration timeout) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        tps.forEach(tp -> request.put(tp, OffsetSpec.latest()));
        Map<TopicPartition, Long> ends = new HashMap<>();
        admin.listOffsets(request).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .forEach((tp, info) -> ends.put(tp, info.offset()));
        return ends;
    }

    private boolean reached(Map<TopicPartition, Long> ends) {
        return ends.entrySet().stream().allMatch(e -> positions.getOrDefault(e.getKey(), -1L) >= e.getValue());
    }

    private void run() {
        Instant lastRefresh = Instant.EPOCH;
        Instant lastEviction = clock.instant();
        try (KafkaConsumer<String, byte[]> c = newConsumer()) {
            consumer = c;
            while (running) {
                try {
                    if (Duration.between(lastRefresh, clock.instant()).compareTo(REFRESH_PARTITIONS) > 0
                            || c.assignment().isEmpty()) {
                        assign(c);
                        lastRefresh = clock.instant();
                    }
                    if (c.assignment().isEmpty()) {
                        Thread.sleep(POLL.toMillis());
                        continue;
                    }
                    for (ConsumerRecord<String, byte[]> r : c.poll(POLL)) {
                        apply(r);
                    }
                    for (TopicPartition tp : c.assignment()) {
                        positions.put(tp, c.position(tp, Duration.ofSeconds(1)));
                    }
                    if (!caughtUp && partitionCounts.size() == TOPICS.size()) {
                        if (startupEnds == null) {
                            startupEnds = c.endOffsets(c.assignment(), Duration.ofSeconds(5));
                        }
                        caughtUp = reached(startupEnds);
                        if (caughtUp) {
                            log.info("status view caught up: {} jobs", jobs.size());
                        }
                    }
                    synchronized (progress) {
                        progress.notifyAll();
                    }
                    if (Duration.between(lastEviction, clock.instant()).toMinutes() >= 1) {
                        evictFinished();
                        lastEviction = clock.instant();
                    }
                } catch (WakeupException e) {
                    // stop() woke us up: the loop condition decides
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (RuntimeException e) {
                    log.warn("status view: {}; retrying", e.toString());
                    sleepQuietly(1000);
                }
            }
        }
    }

    private void assign(KafkaConsumer<String, byte[]> c) {
        Set<TopicPartition> tps = new HashSet<>();
        for (String topic : TOPICS) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(5));
            if (infos == null || infos.isEmpty()) {
                continue;
            }
            partitionCounts.put(topic, infos.size());
            infos.forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
        }
        if (!tps.equals(c.assignment())) {
            c.assign(tps);
            log.info("status view reads {} partitions of {}", tps.size(), TOPICS);
        }
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        if (r.value() == null) {
            return;
        }
        try {
            switch (r.topic()) {
                case Topics.JOBS -> {
                    JobRequest request = codec.readRequest(r.value());
                    if (request.createdAt().isAfter(clock.instant().minus(properties.statusRetention()))) {
                        accepted(request);
                    }
                }
                case Topics.JOB_CONTROLS -> {
                    JobControl control = codec.readControl(r.value());
                    if (JobControl.CANCEL.equals(control.action())) {
                        cancelRequested(control);
                    }
                }
                default -> applyEvent(codec.readEvent(r.value()));
            }
        } catch (MalformedRecordException e) {
            log.warn("skipping unreadable record {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
        }
    }

    private void applyEvent(JobEvent event) {
        JobStatus before = jobs.get(event.jobId());
        JobStatus after = jobs.compute(event.jobId(), (id, current) -> {
            if (current == null) {
                return JobStatus.fromSnapshot(event);
            }
            try {
                return current.apply(event);
            } catch (IllegalJobTransitionException e) {
                log.warn("ignoring event: {}", e.getMessage());
                return current;
            }
        });
        Set<Consumer<JobStatus>> watching = watchers.get(event.jobId());
        if (watching != null && after != before) {
            watching.forEach(w -> w.accept(after));
        }
        // Only live transitions count: replaying the topics at start-up must not re-record old jobs.
        if (caughtUp && after.state().isTerminal() && (before == null || !before.state().isTerminal())) {
            throughput.record(clock.instant().getEpochSecond());
            recordCancelLatency(after);
            recordEndToEnd(after);
        }
    }

    private void recordCancelLatency(JobStatus s) {
        Instant asked = cancelRequests.get(s.id());
        if (s.state() == JobState.CANCELED && asked != null && s.finishedAt() != null) {
            Timer.builder(MetricNames.JOB_CANCEL_LATENCY)
                    .description("Time from a client's cancel to the job's CANCELED state")
                    .serviceLevelObjectives(MetricNames.JOB_LATENCY_BUCKETS.toArray(Duration[]::new))
                    .register(meters)
                    .record(Duration.between(asked, s.finishedAt()).abs());
        }
    }

    private void recordEndToEnd(JobStatus s) {
        Duration total = s.total(clock.instant());
        if (total == null) {
            return;
        }
        Timer.builder(MetricNames.JOB_E2E)
                .description("Job latency from acceptance to its terminal state, as the gateway sees it")
                .tag(MetricNames.TAG_MODEL, s.model() == null ? "unknown" : s.model())
                .tag(MetricNames.TAG_STATE, s.state().name())
                .serviceLevelObjectives(MetricNames.JOB_LATENCY_BUCKETS.toArray(Duration[]::new))
                .register(meters)
                .record(total);
    }

    private void evictFinished() {
        Instant cutoff = clock.instant().minus(properties.statusRetention());
        jobs.values().removeIf(s -> s.finishedAt() != null && s.finishedAt().isBefore(cutoff));
        cancelRequests.values().removeIf(at -> at.isBefore(cutoff));
    }

    private KafkaConsumer<String, byte[]> newConsumer() {
        Map<String, Object> config = new HashMap<>(kafkaProperties.buildConsumerProperties());
        config.remove(ConsumerConfig.GROUP_ID_CONFIG);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "diffq-gateway-status-view-" + System.identityHashCode(this));
        return new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void start() {
        admin = Admin.create(kafkaProperties.buildAdminProperties());
        running = true;
        thread = new Thread(this::run, "diffq-status-view");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void stop() {
        running = false;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        if (thread != null) {
            try {
                thread.join(10_000);
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
}
