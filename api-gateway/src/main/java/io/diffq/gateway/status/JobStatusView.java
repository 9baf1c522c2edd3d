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
import io.diffq.kafka.TopicReader;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
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
    /** How recently a worker must have reported a job of a model to count as serving it. */
    static final Duration ACTIVE_WORKER_WINDOW = Duration.ofMinutes(5);

    private final Map<String, JobStatus> jobs = new ConcurrentHashMap<>();
    private final Map<String, Instant> cancelRequests = new ConcurrentHashMap<>();
    /** Per job, the offset in {@code diffq.jobs} of the request it shows. */
    private final Map<String, Stored> requestOffsets = new ConcurrentHashMap<>();
    private final Throughput throughput = new Throughput();
    private final Map<String, Throughput> throughputByModel = new ConcurrentHashMap<>();
    /** Per model, the workers that reported one of its jobs, and when they last did (epoch second). */
    private final Map<String, Map<String, Long>> workersByModel = new ConcurrentHashMap<>();
    private final Map<String, Set<Consumer<JobStatus>>> watchers = new ConcurrentHashMap<>();
    private final JobCodec codec;
    private final GatewayProperties properties;
    private final Clock clock;
    private final MeterRegistry meters;
    private final TopicReader reader;

    private final ServiceTimes serviceTimes = new ServiceTimes();
    private volatile Counts counts = new Counts(Map.of(), Map.of(), Map.of());
    private volatile long countsAt;
    private volatile QueueOrder order = QueueOrder.EMPTY;
    private volatile long orderAt;
    private Instant lastEviction;

    public JobStatusView(JobCodec codec, KafkaProperties kafkaProperties, GatewayProperties properties, Clock clock,
            MeterRegistry meters) {
        this.codec = codec;
        this.properties = properties;
        this.clock = clock;
        this.meters = meters;
        this.reader = TopicReader.builder("status-view", List.of(Topics.JOBS, Topics.JOB_EVENTS, Topics.JOB_CONTROLS),
                        kafkaProperties.buildConsumerProperties(), kafkaProperties.buildAdminProperties())
                .clientId("diffq-gateway-status-view")
                .isolationLevel(IsolationLevel.READ_COMMITTED)
                .afterPoll(this::evictFinishedNowAndThen)
                .build(this::apply);
        this.lastEviction = clock.instant();
        for (JobState state : JobState.values()) {
            Gauge.builder(MetricNames.JOBS_IN_STATE, this, v -> v.countInState(state))
                    .description("Jobs in each state in this gateway's view")
                    .tag(MetricNames.TAG_STATE, state.name())
                    .register(meters);
        }
    }

    /** Jobs in {@code state}, from a snapshot at most a second old (a scrape reads all six states). */
    private double countInState(JobState state) {
        return counts().byState().getOrDefault(state, 0L);
    }

    /**
     * Jobs no worker has taken yet ({@code QUEUED} in this view), per model, from a snapshot at most a second
     * old; a job of no known model counts under {@code ""}.
     */
    public Map<String, Long> queuedByModel() {
        return counts().queuedByModel();
    }

    /**
     * The recent device time per job of {@code model}'s finished jobs, counting a batch's time once over its
     * jobs (see {@link ServiceTimes}); empty until a job of the model finished since this instance caught up.
     */
    public Optional<Duration> recentServiceTime(String model) {
        return serviceTimes.mean(model);
    }

    /** Both counts from one pass over the view, taken at most once a second (one scrape reads them all). */
    private Counts counts() {
        long now = System.nanoTime();
        if (now - countsAt > 1_000_000_000L) {
            Map<JobState, Long> byState = new EnumMap<>(JobState.class);
            Map<String, Long> queued = new HashMap<>();
            Map<String, Long> running = new HashMap<>();
            jobs.values().forEach(s -> {
                byState.merge(s.state(), 1L, Long::sum);
                if (s.state() == JobState.QUEUED) {
                    queued.merge(modelOf(s), 1L, Long::sum);
                } else if (s.state() == JobState.RUNNING) {
                    running.merge(modelOf(s), 1L, Long::sum);
                }
            });
            counts = new Counts(byState, queued, running);
            countsAt = now;
        }
        return counts;
    }

    private static String modelOf(JobStatus s) {
        return s.model() == null ? "" : s.model();
    }

    private record Counts(Map<JobState, Long> byState, Map<String, Long> queuedByModel,
            Map<String, Long> runningByModel) {
    }

    /** Jobs a worker is running, per model, from the same snapshot as {@link #queuedByModel()}. */
    public Map<String, Long> runningByModel() {
        return counts().runningByModel();
    }

    /**
     * Where a queued job stands, from a snapshot of the queue at most half a second old; empty when the job
     * is not queued or its request (and so its place in the log) is not known here.
     */
    public Optional<QueuePosition> position(JobStatus s) {
        Stored stored = requestOffsets.get(s.id());
        if (s.state() != JobState.QUEUED || s.request() == null || stored == null) {
            return Optional.empty();
        }
        String model = modelOf(s);
        long ahead = queueOrder().ahead(new QueueOrder.Entry(model, stored.partition(), stored.offset(),
                s.request().createdAt()));
        Instant now = clock.instant();
        Optional<Duration> perJob = serviceTimes.mean(model);
        double rate = recentThroughput(model);
        Instant start = null;
        if (rate > 0) {
            start = now.plusMillis(Math.round(ahead * 1000 / rate));
        } else if (perJob.isPresent()) {
            int workers = activeWorkers(model);
            if (workers > 0) {
                start = now.plus(perJob.get().multipliedBy(ahead).dividedBy(workers));
            }
        }
        Instant finish = start == null || perJob.isEmpty() ? null : start.plus(perJob.get());
        return Optional.of(new QueuePosition(ahead, start, finish));
    }

    /** The queue's order, rebuilt from the view at most twice a second (each poll of a queued job reads it). */
    private QueueOrder queueOrder() {
        long now = System.nanoTime();
        if (now - orderAt > 500_000_000L) {
            List<QueueOrder.Entry> queued = new ArrayList<>();
            jobs.values().forEach(s -> {
                Stored stored = requestOffsets.get(s.id());
                if (s.state() == JobState.QUEUED && s.request() != null && stored != null) {
                    queued.add(new QueueOrder.Entry(modelOf(s), stored.partition(), stored.offset(),
                            s.request().createdAt()));
                }
            });
            order = QueueOrder.of(queued);
            orderAt = now;
        }
        return order;
    }

    /** When the oldest job of {@code model} that no worker has taken was accepted, if one waits. */
    public Optional<Instant> oldestQueued(String model) {
        return Optional.ofNullable(queueOrder().oldest(model));
    }

    /** Jobs of {@code model} finished per second over the last minute, by every worker. */
    public double recentThroughput(String model) {
        Throughput t = throughputByModel.get(model);
        return t == null ? 0 : t.perSecond(clock.instant().getEpochSecond());
    }

    /** Workers that reported a job of {@code model} in the last five minutes. */
    public int activeWorkers(String model) {
        Map<String, Long> seen = workersByModel.get(model);
        if (seen == null) {
            return 0;
        }
        long since = clock.instant().getEpochSecond() - ACTIVE_WORKER_WINDOW.toSeconds();
        return (int) seen.values().stream().filter(at -> at >= since).count();
    }

    /** The models this view has seen jobs of. */
    public Set<String> models() {
        Set<String> models = new TreeSet<>(counts().queuedByModel().keySet());
        models.addAll(counts().runningByModel().keySet());
        models.addAll(workersByModel.keySet());
        models.addAll(throughputByModel.keySet());
        models.remove("");
        return models;
    }

    /**
     * The job's status as this view holds it, without waiting for the view to catch up: for callers on
     * threads that must not block (the stream ticker).
     */
    public Optional<JobStatus> peek(String id) {
        return Optional.ofNullable(jobs.get(id));
    }

    /** Every job the view holds, as a live view of the map (iterate it, do not keep it). */
    public Collection<JobStatus> all() {
        return Collections.unmodifiableCollection(jobs.values());
    }

    /** Where a job's request lies in {@code diffq.jobs}. */
    private record Stored(int partition, long offset) {
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
     *
     * @throws StatusUnavailableException when the id is not known and the end could not be reached
     */
    public Optional<JobStatus> find(String id) {
        // Still replaying the topics after a start: what the view holds may be older than the truth.
        reader.awaitCaughtUp(properties.readYourWritesTimeout());
        JobStatus known = jobs.get(id);
        if (known != null) {
            return Optional.of(known);
        }
        if (reader.catchUpTo(id, () -> jobs.containsKey(id), properties.readYourWritesTimeout())
                == TopicReader.CatchUp.UNKNOWN) {
            // The broker is out of reach (or far behind): the job may well exist.
            throw new StatusUnavailableException(id);
        }
        return Optional.ofNullable(jobs.get(id));
    }

    /**
     * As {@link #find}, with the job's request, for a retry with an {@code Idempotency-Key} that must compare
     * its body with the job's. A view still replaying after a start reads the topics in no fixed order, so it
     * may know a job from its events before its request; the request exists (a job's events follow it), so
     * this waits up to the read-your-writes timeout for it.
     *
     * @throws StatusUnavailableException when the job is known and its request was not read in time
     */
    public Optional<JobStatus> findWithRequest(String id) {
        Optional<JobStatus> found = find(id);
        if (found.isEmpty() || found.get().request() != null) {
            return found;
        }
        if (!reader.await(() -> jobs.get(id) != null && jobs.get(id).request() != null,
                properties.readYourWritesTimeout())) {
            throw new StatusUnavailableException(id);
        }
        return Optional.of(jobs.get(id));
    }

    /**
     * Records a job request read at {@code offset} of its partition of {@code diffq.jobs}, or one this instance
     * just stored there (so that the client's first poll here never misses it). All records of one job id
     * share a partition; when it holds several (concurrent submits with one {@code Idempotency-Key}), the
     * first one is the job, on every gateway and every worker.
     */
    public void accepted(JobRequest request, int partition, long offset) {
        jobs.compute(request.id(), (id, current) -> {
            Stored shown = requestOffsets.get(id);
            if (current == null || current.request() == null || shown == null || offset < shown.offset()) {
                requestOffsets.put(id, new Stored(partition, offset));
                return current == null || current.state() == JobState.QUEUED
                        ? JobStatus.queued(request) : current.withRequest(request);
            }
            return current;
        });
    }

    /**
     * The request that is the job {@code id}, once this view has read the record this instance stored for it
     * at {@code offset} of {@code partition} (and with it every earlier record of that partition).
     *
     * @return the first request for the id in its partition: the one stored at {@code offset} or an earlier
     *         one; empty when the view could not read that far within the read-your-writes timeout
     */
    public Optional<FirstRequest> firstRequest(String id, int partition, long offset) {
        if (!reader.awaitRead(new TopicPartition(Topics.JOBS, partition), offset,
                properties.readYourWritesTimeout())) {
            return Optional.empty();
        }
        JobStatus s = jobs.get(id);
        Stored first = requestOffsets.get(id);
        if (s == null || s.request() == null || first == null) {
            return Optional.empty();
        }
        return Optional.of(new FirstRequest(s.request(), first.offset() == offset));
    }

    /**
     * @param request the job's request
     * @param ours    whether it is the record the caller stored
     */
    public record FirstRequest(JobRequest request, boolean ours) {
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
        return reader.isCaughtUp();
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        if (r.value() == null) {
            return;
        }
        try {
            switch (r.topic()) {
                case Topics.JOBS -> {
                    if (storedHere(r)) {
                        return; // this instance stored it, and holds it already: no need to decode it again
                    }
                    JobRequest request = codec.readRequest(r.value());
                    if (request.createdAt().isAfter(clock.instant().minus(properties.statusRetention()))) {
                        accepted(request, r.partition(), r.offset());
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

    /**
     * Whether the record is one this instance stored and recorded ({@link #accepted}) under the same offset:
     * a job's records all share one partition, so its offset names the record. Most of the requests a gateway
     * reads back are its own; decoding them again was a fifth of its CPU under a submit flood.
     */
    private boolean storedHere(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null) {
            return false;
        }
        Stored stored = requestOffsets.get(r.key());
        JobStatus s = jobs.get(r.key());
        return stored != null && stored.offset() == r.offset() && s != null && s.request() != null;
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
        long second = clock.instant().getEpochSecond();
        if (event.worker() != null && after.model() != null) {
            workersByModel.computeIfAbsent(after.model(), k -> new ConcurrentHashMap<>()).put(event.worker(),
                    Math.max(second, event.at() == null ? 0 : event.at().getEpochSecond()));
        }
        // Only live transitions count: replaying the topics at start-up must not re-record old jobs.
        if (reader.isCaughtUp() && after.state().isTerminal() && (before == null || !before.state().isTerminal())) {
            throughput.record(second);
            if (after.model() != null && event.worker() != null) {
                throughputByModel.computeIfAbsent(after.model(), k -> new Throughput()).record(second);
            }
            if (event.worker() != null) {
                serviceTimes.finished(event.worker(), modelOf(after), event.startedAt(), event.at());
            }
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

    private void evictFinishedNowAndThen() {
        if (Duration.between(lastEviction, clock.instant()).toMinutes() >= 1) {
            evictFinished();
            lastEviction = clock.instant();
        }
    }

    private void evictFinished() {
        Instant cutoff = clock.instant().minus(properties.statusRetention());
        jobs.values().removeIf(s -> s.finishedAt() != null && s.finishedAt().isBefore(cutoff));
        requestOffsets.keySet().retainAll(jobs.keySet());
        cancelRequests.values().removeIf(at -> at.isBefore(cutoff));
        long workersCutoff = clock.instant().minus(ACTIVE_WORKER_WINDOW).getEpochSecond();
        workersByModel.values().forEach(seen -> seen.values().removeIf(at -> at < workersCutoff));
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
