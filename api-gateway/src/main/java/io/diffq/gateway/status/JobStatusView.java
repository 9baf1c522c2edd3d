package io.diffq.gateway.status;

import io.diffq.common.job.JobControl;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.common.metrics.MetricNames;
import io.diffq.gateway.GatewayProperties;
import io.diffq.kafka.TopicReader;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The status of every job, materialised from {@code diffq.jobs} (a request there is a queued job),
 * {@code diffq.job-events} and {@code diffq.job-controls} (cancel requests). Each gateway instance reads the topics
 * without a consumer group, so any instance answers for any job. A lookup of an id not seen yet first catches up to
 * the end of that id's partitions (read-your-writes across instances) before it concludes the job does not exist.
 *
 * <p>Jobs not finished (waiting, running) are held in the heap; every job, finished ones included, is kept in a
 * {@link StatusStore} on disk, written after each poll together with the offsets it reflects. A restarted gateway
 * that kept its {@linkplain StatusStoreProperties#dir() directory} loads its live jobs and reads only what was
 * written since; memory does not grow with finished jobs. See docs/design/status-store.md.
 *
 * <p>This class answers the lookups and runs the reader; {@link StatusWriter} is the reader's sink (the fold and
 * the store's batches), {@link LiveJobs} holds the jobs and their counts, {@link JobWatchers} the watchers,
 * {@link EventVerdicts} what the fold refused, {@link FleetStats} the workers' throughput and service times.
 */
@Component
public class JobStatusView implements SmartLifecycle, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(JobStatusView.class);

    private final LiveJobs jobs;
    private final JobWatchers watchers = new JobWatchers();
    private final EventVerdicts verdicts = new EventVerdicts();
    private final StatusWriter writer;
    /** Per partition of {@code diffq.jobs}, the highest offset this instance stored a request at. */
    private final Map<Integer, Long> acceptedHere = new ConcurrentHashMap<>();
    /**
     * How far another machine's clock may be behind this one's: a new store reads from this much before the
     * retention window, so a job's request or event stamped by a slower clock is not skipped.
     */
    static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
    /** How far in time one partition may read ahead of the others while the view replays the topics. */
    static final Duration REPLAY_AHEAD = Duration.ofSeconds(10);

    private final GatewayProperties properties;
    private final StatusStoreProperties storeProperties;
    private final KafkaProperties kafkaProperties;
    private final TopicReader reader;

    private final FleetStats fleet;
    private volatile boolean temporaryDir;
    private final List<Runnable> batchListeners = new CopyOnWriteArrayList<>();

    public JobStatusView(JobCodec codec, KafkaProperties kafkaProperties, GatewayProperties properties,
            StatusStoreProperties storeProperties, FleetStats fleet, Clock clock, MeterRegistry meters) {
        this.fleet = fleet;
        this.properties = properties;
        this.storeProperties = storeProperties;
        this.kafkaProperties = kafkaProperties;
        this.jobs = new LiveJobs(codec);
        this.reader = TopicReader.builder("status-view", List.of(Topics.JOBS, Topics.JOB_EVENTS, Topics.JOB_CONTROLS),
                        kafkaProperties.buildConsumerProperties(), kafkaProperties.buildAdminProperties())
                .clientId("diffq-gateway-status-view")
                // Under load, a fetch and a store write per interval instead of per record or so.
                .pollAtMostEvery(properties.statusReadInterval())
                .isolationLevel(IsolationLevel.READ_COMMITTED)
                .startAt(tp -> writer().storedOffset(tp))
                // A job's request is read about when its events are: the heap holds the jobs in flight at one
                // moment of the replay, not every job whose request was read before its end was.
                .inTimeOrder(REPLAY_AHEAD)
                // A new store (or a partition added since) starts at the retention window, not at the topics'
                // beginning: diffq.jobs keeps a week, and a request older than the retention is not shown anyway.
                .since(() -> clock.instant().minus(properties.statusRetention()).minus(CLOCK_SKEW))
                .afterBatch(read -> {
                    writer().store(read);
                    batchListeners.forEach(Runnable::run);
                })
                .build(r -> writer().apply(r));
        this.writer = new StatusWriter(jobs, codec, properties, clock, fleet, watchers, verdicts, reader::isCaughtUp);
        openStore();
        for (JobState state : JobState.values()) {
            Gauge.builder(MetricNames.JOBS_IN_STATE, this, v -> v.countInState(state))
                    .description("Jobs in each state in this gateway's view")
                    .tag(MetricNames.TAG_STATE, state.name())
                    .register(meters);
        }
        Gauge.builder("diffq.gateway.status.store.bytes", this, v -> v.storeProperty("rocksdb.total-sst-files-size"))
                .description("Bytes of the status store's files on disk").baseUnit("bytes").register(meters);
        Gauge.builder("diffq.gateway.status.store.memory", this,
                        v -> v.jobs.store() == null ? Double.NaN : v.jobs.store().memory())
                .description("Bytes of the status store's write buffers and (shared) read cache outside the heap")
                .baseUnit("bytes").register(meters);
        Map<String, ToLongFunction<StatusStore.CacheMisses>> misses = Map.of(
                "index", StatusStore.CacheMisses::index, "filter", StatusStore.CacheMisses::filter,
                "data", StatusStore.CacheMisses::data);
        misses.forEach((block, count) -> FunctionCounter.builder("diffq.gateway.status.store.cache.misses", this,
                        v -> v.jobs.store() == null ? Double.NaN : count.applyAsLong(v.jobs.store().cacheMisses()))
                .description("Reads of the status store that missed its read cache, by kind of block (each loads "
                        + "the block from the files)")
                .tag("block", block).register(meters));
    }

    private StatusWriter writer() {
        return writer;
    }

    private double storeProperty(String name) {
        StatusStore s = jobs.store();
        return s == null ? Double.NaN : s.property(name);
    }

    /** Jobs in {@code state}, from a snapshot at most a second old (a scrape reads all six states). */
    private double countInState(JobState state) {
        return state.isTerminal() ? writer.finishedCounts().getOrDefault(state, 0L)
                : jobs.counts().byState().getOrDefault(state, 0L);
    }

    /**
     * Jobs no worker has taken yet ({@code QUEUED} in this view), per model, from a snapshot at most a second
     * old; a job of no known model counts under {@code ""}.
     */
    public Map<String, Long> queuedByModel() {
        return jobs.counts().queuedByModel();
    }

    /**
     * Jobs no worker has taken yet per owner (the API key that submitted them), from the same snapshot as
     * {@link #queuedByModel()}, and when it was taken.
     */
    public WaitingByOwner waitingByOwner() {
        LiveJobs.Counts c = jobs.counts();
        return new WaitingByOwner(c.queuedByOwner(), c.takenAt());
    }

    /**
     * @param counts  waiting jobs per owner
     * @param takenAt when the count began ({@link System#nanoTime()}): a job this instance accepted before then is in
     *                it, one accepted since is not
     */
    public record WaitingByOwner(Map<String, Long> counts, long takenAt) {

        public long of(String owner) {
            return counts.getOrDefault(owner, 0L);
        }
    }

    /** Jobs a worker is running, per model, from the same snapshot as {@link #queuedByModel()}. */
    public Map<String, Long> runningByModel() {
        return jobs.counts().runningByModel();
    }

    /** The queue's entry of a job this view holds as queued with its request; {@code null} otherwise. */
    QueueOrder.Entry queueEntry(String id) {
        return jobs.queueEntry(id);
    }

    /** A count of the changes to the jobs held in the heap: unchanged means the queue is as it was. */
    long liveChanges() {
        return jobs.changes();
    }

    /** Calls {@code action} with the entry of every job this view holds as queued with its request. */
    void forEachQueued(Consumer<QueueOrder.Entry> action) {
        jobs.forEachQueued(action);
    }

    /** The models this view holds live jobs of, or that some worker reported a job of lately. */
    public Set<String> models() {
        Set<String> models = new TreeSet<>(jobs.counts().queuedByModel().keySet());
        models.addAll(jobs.counts().runningByModel().keySet());
        models.addAll(fleet.models());
        models.remove("");
        return models;
    }

    /**
     * The job's status as this view holds it, without waiting for the view to catch up: for callers on
     * threads that must not block (the stream ticker).
     */
    public Optional<JobStatus> peek(String id) {
        LiveJob l = lookup(id);
        return l == null ? Optional.empty() : Optional.of(l.status());
    }

    /** A job waiting ({@code QUEUED}) with its first request, and where that request lies in {@code diffq.jobs}. */
    public record Waiting(JobRequest request, int partition, long offset) {
    }

    /** Calls {@code action} with every job this view holds as waiting with its request, in no particular order. */
    public void forEachWaiting(Consumer<Waiting> action) {
        jobs.heap.values().forEach(l -> {
            if (l.queueEntry() != null) {
                action.accept(new Waiting(l.status().request(), l.partition(), l.offset()));
            }
        });
    }

    /**
     * When the oldest job this view holds as waiting or running with its request was accepted; empty when none is.
     */
    public Optional<Instant> oldestLiveAcceptedAt() {
        return oldestAcceptedAt(EnumSet.of(JobState.QUEUED, JobState.RUNNING));
    }

    /** When the oldest job this view holds as waiting with its request was accepted; empty when none is. */
    public Optional<Instant> oldestWaitingAcceptedAt() {
        return oldestAcceptedAt(EnumSet.of(JobState.QUEUED));
    }

    private Optional<Instant> oldestAcceptedAt(Set<JobState> states) {
        Instant[] oldest = {null};
        jobs.heap.values().forEach(l -> {
            JobStatus s = l.status();
            if (states.contains(s.state()) && s.request() != null
                    && s.request().createdAt() != null
                    && (oldest[0] == null || s.request().createdAt().isBefore(oldest[0]))) {
                oldest[0] = s.request().createdAt();
            }
        });
        return Optional.ofNullable(oldest[0]);
    }

    /**
     * Has {@code listener} run after every batch of records the view has applied and stored, on the reader's thread:
     * it must be quick and must not block (e.g. wake a thread of its own).
     */
    public void afterEachBatch(Runnable listener) {
        batchListeners.add(listener);
    }

    /**
     * A page of jobs, newest first (acceptance time, then the greater id), after {@code after} in that order (from
     * the newest when {@code null}): {@code owner}'s jobs and those with no owner, or every job when {@code owner}
     * is {@code null}. Only jobs whose request this view holds are listed. Reads an index, not every job; waits
     * (at most the read-your-writes timeout) until the view holds every request this instance stored.
     */
    public List<JobStatus> page(String owner, Set<JobState> states, StatusStore.Place after, int n) {
        awaitAcceptedHere();
        List<JobStatus> page = new ArrayList<>();
        for (StatusStore.Place p : jobs.store().page(owners(owner), states, after, n)) {
            LiveJob l = lookup(p.id());
            if (l != null && l.status().request() != null) {
                page.add(l.status());
            }
        }
        return page;
    }

    /**
     * A page of a listing filtered by more than the index holds (owner and state): the jobs {@code keep} accepts.
     *
     * @param jobs      up to {@code n} jobs, newest first
     * @param stoppedAt where the listing stopped after looking at {@code maxScanned} jobs of the index without
     *                  finding {@code n}: the next page goes on after it; {@code null} when it did not stop so
     */
    public record Filtered(List<JobStatus> jobs, StatusStore.Place stoppedAt) {
    }

    /**
     * As {@link #page(String, Set, StatusStore.Place, int)}, keeping only the jobs {@code keep} accepts, and looking
     * at no more than {@code maxScanned} jobs of the index for them.
     */
    public Filtered page(String owner, Set<JobState> states, StatusStore.Place after, int n,
            Predicate<JobStatus> keep, int maxScanned) {
        awaitAcceptedHere();
        List<JobStatus> page = new ArrayList<>();
        StatusStore.Place at = after;
        int scanned = 0;
        while (true) {
            int chunk = Math.min(Math.max(n, 256), maxScanned - scanned);
            if (chunk <= 0) {
                return new Filtered(page, at);
            }
            List<StatusStore.Place> places = jobs.store().page(owners(owner), states, at, chunk);
            for (StatusStore.Place p : places) {
                scanned++;
                at = p;
                LiveJob l = lookup(p.id());
                if (l != null && l.status().request() != null && keep.test(l.status())) {
                    page.add(l.status());
                    if (page.size() == n) {
                        return new Filtered(page, null);
                    }
                }
            }
            if (places.size() < chunk) {
                return new Filtered(page, null);
            }
        }
    }

    private static List<String> owners(String owner) {
        return owner == null ? List.of(StatusStore.EVERYONE) : List.of(owner, "");
    }

    /** Waits (at most the read-your-writes timeout) until the view holds every request this instance stored. */
    private void awaitAcceptedHere() {
        long deadline = System.nanoTime() + properties.readYourWritesTimeout().toNanos();
        acceptedHere.forEach((partition, offset) -> reader.awaitRead(new TopicPartition(Topics.JOBS, partition),
                offset, Duration.ofNanos(Math.max(0, deadline - System.nanoTime()))));
    }

    /**
     * Jobs this view knows to have been taken by a worker (running or finished); a job it does not know is
     * treated as waiting.
     */
    public boolean isStarted(String id) {
        LiveJob l = lookup(id);
        return l != null && l.status().state() != JobState.QUEUED;
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
        LiveJob known = lookup(id);
        if (known != null) {
            return Optional.of(known.status());
        }
        if (reader.catchUpTo(id, () -> lookup(id) != null, properties.readYourWritesTimeout())
                == TopicReader.CatchUp.UNKNOWN) {
            // The broker is out of reach (or far behind): the job may well exist.
            throw new StatusUnavailableException(id);
        }
        return peek(id);
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
        if (!reader.await(() -> peek(id).map(s -> s.request() != null).orElse(false),
                properties.readYourWritesTimeout())) {
            throw new StatusUnavailableException(id);
        }
        return peek(id);
    }

    /**
     * Records a job request this instance just stored at {@code offset} of its partition of {@code diffq.jobs},
     * so that the client's first poll here never misses it. All records of one job id share a partition; when it
     * holds several (concurrent submits with one {@code Idempotency-Key}), the first one is the job, on every
     * gateway and every worker.
     */
    public void accepted(JobRequest request, int partition, long offset) {
        acceptedHere.merge(partition, offset, Math::max);
        jobs.compute(request.id(), (id, current) -> {
            if (current == null) {
                // Not live: new, or finished and stored (a later record of a job done, or one whose events this
                // view read before its request: it then holds the request until the reader stores it).
                LiveJob stored = jobs.stored(id);
                if (stored == null) {
                    return new LiveJob(JobStatus.queued(request), partition, offset);
                }
                return stored.status().request() != null ? null : stored.withRequest(request, partition, offset);
            }
            return current.withRequest(request, partition, offset);
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
        LiveJob l = lookup(id);
        if (l == null || l.status().request() == null || l.offset() < 0) {
            return Optional.empty();
        }
        return Optional.of(new FirstRequest(l.status().request(), l.offset() == offset));
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
        return watchers.watch(id, watcher);
    }

    /** Records a cancel this instance just stored. */
    public void cancelRequested(JobControl control) {
        writer.cancelRequested(control);
    }

    /** When a client asked to cancel the job, if one did. */
    public Optional<Instant> cancelRequestedAt(String id) {
        return writer.cancelRequestedAt(id);
    }

    /** How many jobs the view holds. */
    public long size() {
        return jobs.heap.size() + writer.finishedCounts().values().stream().mapToLong(Long::longValue).sum();
    }

    /** Records read from the topics since this instance started (a restart that kept its store reads few). */
    public long recordsRead() {
        return writer.recordsRead();
    }

    /**
     * How the view's fold took the record at {@code offset} of {@code diffq.job-events} partition {@code partition},
     * once the view has read it (waiting up to the read-your-writes timeout; {@code UNKNOWN} at once while the view
     * replays the topics after a start): a reader that must refuse what the view refuses decides by the record's place
     * in the topic, not by what either has read since.
     */
    public EventVerdicts.Verdict verdict(int partition, long offset) {
        // Still replaying after a start: no waiting here (a lookup waits for the replay already).
        if (!reader.isCaughtUp() || !reader.awaitRead(new TopicPartition(Topics.JOB_EVENTS, partition), offset,
                properties.readYourWritesTimeout())) {
            return EventVerdicts.Verdict.UNKNOWN;
        }
        return verdicts.of(partition, offset);
    }

    /**
     * Whether the view has read everything that was on the topics when this instance started. Until then
     * it may show a job in an older state, so the instance reports itself not ready.
     */
    public boolean isCaughtUp() {
        return reader.isCaughtUp();
    }

    /** The job from the heap, else from the store; {@code null} when neither holds it. */
    private LiveJob lookup(String id) {
        return jobs.lookup(id);
    }

    // ---- lifecycle ----

    /**
     * Opens the store (the directory, or a temporary one), drops it when the topics no longer hold what it stopped
     * at, and loads its live jobs. The store stays open until the bean is destroyed, after the web server stopped:
     * requests still answered during a graceful shutdown read it.
     */
    private void openStore() {
        Path dir = storeProperties.dir();
        try {
            temporaryDir = dir == null;
            if (dir == null) {
                dir = Files.createTempDirectory("diffq-status");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        StatusStore store = StatusStore.open(dir, storeProperties.cacheSize().toBytes());
        if (!offsetsStillOnTheTopics(store.offsets())) {
            log.warn("the status store in {} holds records the topics no longer have (or topics recreated since): "
                    + "reading the topics again", dir);
            store = store.wiped();
        }
        jobs.use(store);
        long began = System.nanoTime();
        int loaded = writer.load(store);
        log.info("status store {}: {} live jobs loaded in {} ms, {} finished, reading from {}", dir, loaded,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began),
                writer.finishedCounts().values().stream().mapToLong(Long::longValue).sum(),
                writer.storedNothing() ? "the beginning" : "where it stopped");
    }

    @Override
    public void start() {
        reader.start();
    }

    /**
     * Whether every stored offset still lies within its partition: a store left aside longer than the topics keep
     * records (or one from before the topics were recreated) missed what it cannot read any more. Assumed true
     * when the broker cannot be asked (the reader then starts from the stored offsets).
     */
    private boolean offsetsStillOnTheTopics(Map<TopicPartition, Long> stored) {
        if (stored.isEmpty()) {
            return true;
        }
        try (Admin admin = Admin.create(kafkaProperties.buildAdminProperties())) {
            Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            stored.keySet().forEach(tp -> {
                earliest.put(tp, OffsetSpec.earliest());
                latest.put(tp, OffsetSpec.latest());
            });
            var first = admin.listOffsets(earliest).all().get(5, TimeUnit.SECONDS);
            var end = admin.listOffsets(latest).all().get(5, TimeUnit.SECONDS);
            return stored.entrySet().stream().allMatch(e -> first.containsKey(e.getKey())
                    && e.getValue() >= first.get(e.getKey()).offset() && e.getValue() <= end.get(e.getKey()).offset());
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            log.warn("cannot check the status store's offsets against the topics ({}); reading from them", e.toString());
            return true;
        }
    }

    @Override
    public void stop() {
        reader.stop();
    }

    @Override
    public void destroy() {
        StatusStore s = jobs.store();
        if (s != null) {
            s.close();
            if (temporaryDir) {
                deleteQuietly(s.dir());
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            log.debug("cannot delete {}: {}", dir, e.toString());
        }
    }

    @Override
    public boolean isRunning() {
        return reader.isRunning();
    }
}
