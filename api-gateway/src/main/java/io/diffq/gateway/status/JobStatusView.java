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
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.stream.Stream;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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
 */
@Component
public class JobStatusView implements SmartLifecycle, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(JobStatusView.class);
    /**
     * How often finished jobs past their retention are removed (a tenth of the retention when that is shorter, so a
     * job is gone at most a tenth late), and how many at most per round.
     */
    static final Duration SWEEP_EVERY = Duration.ofMinutes(1);
    static final int SWEEP_MAX = 20_000;

    /**
     * Jobs not finished, and jobs changed by the batch being read (until it is stored): each with its status and
     * where its request lies.
     */
    private final Map<String, LiveJob> live = new ConcurrentHashMap<>();
    /** Cancels this instance stored or read that the store does not hold yet. */
    private final Map<String, Instant> unstoredCancels = new ConcurrentHashMap<>();
    /** Per partition of {@code diffq.jobs}, the highest offset this instance stored a request at. */
    private final Map<Integer, Long> acceptedHere = new ConcurrentHashMap<>();
    private final Map<String, Set<Consumer<JobStatus>>> watchers = new ConcurrentHashMap<>();

    // The reader's thread only: what the batch being read changes, and what the store holds of live jobs.
    private final Map<String, Change> changes = new LinkedHashMap<>();
    private final Map<String, Instant> cancelsToStore = new LinkedHashMap<>();
    /** Jobs the store holds as not finished: their index entry and the offset of their stored request. */
    private final Map<String, Stored> storedLive = new HashMap<>();
    private final Map<JobState, Long> finished = new EnumMap<>(JobState.class);
    private Map<TopicPartition, Long> storedOffsets = Map.of();
    /**
     * How far another machine's clock may be behind this one's: a new store reads from this much before the
     * retention window, so a job's request or event stamped by a slower clock is not skipped.
     */
    static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
    /** How far in time one partition may read ahead of the others while the view replays the topics. */
    static final Duration REPLAY_AHEAD = Duration.ofSeconds(10);

    private final JobCodec codec;
    private final GatewayProperties properties;
    private final StatusStoreProperties storeProperties;
    private final KafkaProperties kafkaProperties;
    private final Clock clock;
    private final TopicReader reader;

    private final FleetStats fleet;
    private final EventVerdicts verdicts = new EventVerdicts();
    private volatile StatusStore store;
    private volatile boolean temporaryDir;
    private volatile Map<JobState, Long> finishedCounts = Map.of();
    private volatile Counts counts = new Counts(Map.of(), Map.of(), Map.of());
    private volatile long countsAt;
    private final AtomicBoolean rebuildingCounts = new AtomicBoolean();
    private volatile long recordsRead;
    private Instant lastSweep;

    public JobStatusView(JobCodec codec, KafkaProperties kafkaProperties, GatewayProperties properties,
            StatusStoreProperties storeProperties, FleetStats fleet, Clock clock, MeterRegistry meters) {
        this.fleet = fleet;
        this.codec = codec;
        this.properties = properties;
        this.storeProperties = storeProperties;
        this.kafkaProperties = kafkaProperties;
        this.clock = clock;
        this.reader = TopicReader.builder("status-view", List.of(Topics.JOBS, Topics.JOB_EVENTS, Topics.JOB_CONTROLS),
                        kafkaProperties.buildConsumerProperties(), kafkaProperties.buildAdminProperties())
                .clientId("diffq-gateway-status-view")
                .isolationLevel(IsolationLevel.READ_COMMITTED)
                .startAt(tp -> storedOffsets.get(tp))
                // A job's request is read about when its events are: the heap holds the jobs in flight at one
                // moment of the replay, not every job whose request was read before its end was.
                .inTimeOrder(REPLAY_AHEAD)
                // A new store (or a partition added since) starts at the retention window, not at the topics'
                // beginning: diffq.jobs keeps a week, and a request older than the retention is not shown anyway.
                .since(() -> clock.instant().minus(properties.statusRetention()).minus(CLOCK_SKEW))
                .afterBatch(this::store)
                .build(this::apply);
        this.lastSweep = clock.instant();
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
                        v -> v.store == null ? Double.NaN : v.store.memory())
                .description("Bytes of the status store's write buffers and (shared) read cache outside the heap")
                .baseUnit("bytes").register(meters);
    }

    private double storeProperty(String name) {
        StatusStore s = store;
        return s == null ? Double.NaN : s.property(name);
    }

    /** Jobs in {@code state}, from a snapshot at most a second old (a scrape reads all six states). */
    private double countInState(JobState state) {
        return state.isTerminal() ? finishedCounts.getOrDefault(state, 0L) : counts().byState().getOrDefault(state, 0L);
    }

    /**
     * Jobs no worker has taken yet ({@code QUEUED} in this view), per model, from a snapshot at most a second
     * old; a job of no known model counts under {@code ""}.
     */
    public Map<String, Long> queuedByModel() {
        return counts().queuedByModel();
    }

    /** The counts of live jobs from one pass over them, taken at most once a second (one scrape reads them all). */
    private Counts counts() {
        long now = System.nanoTime();
        // One caller rebuilds; the others take the snapshot at hand meanwhile, so that concurrent callers do not each
        // pass over every live job (100k waiting at 1M retained, in the status benchmark).
        if (now - countsAt > 1_000_000_000L && rebuildingCounts.compareAndSet(false, true)) {
            try {
                countsAt = System.nanoTime();
                counts = countLive();
            } finally {
                rebuildingCounts.set(false);
            }
        }
        return counts;
    }

    private Counts countLive() {
        Map<JobState, Long> byState = new EnumMap<>(JobState.class);
        Map<String, Long> queued = new HashMap<>();
        Map<String, Long> running = new HashMap<>();
        live.values().forEach(l -> {
            JobStatus s = l.status();
            if (s.state() == JobState.QUEUED) {
                byState.merge(s.state(), 1L, Long::sum);
                queued.merge(modelOf(s), 1L, Long::sum);
            } else if (s.state() == JobState.RUNNING) {
                byState.merge(s.state(), 1L, Long::sum);
                running.merge(modelOf(s), 1L, Long::sum);
            }
        });
        return new Counts(byState, queued, running);
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

    /** The queue's entry of a job this view holds as queued with its request; {@code null} otherwise. */
    QueueOrder.Entry queueEntry(String id) {
        LiveJob l = live.get(id);
        return l == null ? null : entry(l);
    }

    /** Calls {@code action} with the entry of every job this view holds as queued with its request. */
    void forEachQueued(Consumer<QueueOrder.Entry> action) {
        live.values().forEach(l -> {
            QueueOrder.Entry e = entry(l);
            if (e != null) {
                action.accept(e);
            }
        });
    }

    private static QueueOrder.Entry entry(LiveJob l) {
        JobStatus s = l.status();
        return s.state() == JobState.QUEUED && s.request() != null && l.offset() >= 0
                ? new QueueOrder.Entry(modelOf(s), l.partition(), l.offset(), s.request().createdAt()) : null;
    }

    /** The models this view holds live jobs of, or that some worker reported a job of lately. */
    public Set<String> models() {
        Set<String> models = new TreeSet<>(counts().queuedByModel().keySet());
        models.addAll(counts().runningByModel().keySet());
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

    /**
     * A page of jobs, newest first (acceptance time, then the greater id), after {@code after} in that order (from
     * the newest when {@code null}): {@code owner}'s jobs and those with no owner, or every job when {@code owner}
     * is {@code null}. Only jobs whose request this view holds are listed. Reads an index, not every job; waits
     * (at most the read-your-writes timeout) until the view holds every request this instance stored.
     */
    public List<JobStatus> page(String owner, Set<JobState> states, StatusStore.Place after, int n) {
        long deadline = System.nanoTime() + properties.readYourWritesTimeout().toNanos();
        acceptedHere.forEach((partition, offset) -> reader.awaitRead(new TopicPartition(Topics.JOBS, partition),
                offset, Duration.ofNanos(Math.max(0, deadline - System.nanoTime()))));
        List<String> owners = owner == null ? List.of(StatusStore.EVERYONE) : List.of(owner, "");
        List<JobStatus> page = new ArrayList<>();
        for (StatusStore.Place p : store.page(owners, states, after, n)) {
            LiveJob l = lookup(p.id());
            if (l != null && l.status().request() != null) {
                page.add(l.status());
            }
        }
        return page;
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
        live.compute(request.id(), (id, current) -> {
            if (current == null) {
                // Not live: new, or finished and stored (a later record of a job done, or one whose events this
                // view read before its request: it then holds the request until the reader stores it).
                LiveJob stored = stored(id);
                if (stored == null) {
                    return new LiveJob(JobStatus.queued(request), partition, offset);
                }
                return stored.status().request() != null ? null : withRequest(stored, request, partition, offset);
            }
            return withRequest(current, request, partition, offset);
        });
    }

    /** {@code current} with the request at {@code offset} when that is its first one, else {@code current}. */
    private static LiveJob withRequest(LiveJob current, JobRequest request, int partition, long offset) {
        JobStatus s = current.status();
        if (s.request() == null || current.offset() < 0 || offset < current.offset()) {
            return new LiveJob(s.state() == JobState.QUEUED ? JobStatus.queued(request) : s.withRequest(request),
                    partition, offset);
        }
        return current;
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
        watchers.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(watcher);
        return () -> watchers.computeIfPresent(id, (k, set) -> {
            set.remove(watcher);
            return set.isEmpty() ? null : set;
        });
    }

    /** Records a cancel this instance just stored. */
    public void cancelRequested(JobControl control) {
        if (store.cancelAt(control.jobId()) == null) {
            unstoredCancels.putIfAbsent(control.jobId(), control.at());
        }
    }

    /** When a client asked to cancel the job, if one did. */
    public Optional<Instant> cancelRequestedAt(String id) {
        Instant at = unstoredCancels.get(id);
        return Optional.ofNullable(at != null ? at : store.cancelAt(id));
    }

    /** How many jobs the view holds. */
    public long size() {
        return live.size() + finishedCounts.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Records read from the topics since this instance started (a restart that kept its store reads few). */
    public long recordsRead() {
        return recordsRead;
    }

    /**
     * How the view's fold took the record at {@code offset} of {@code diffq.job-events} partition {@code partition},
     * once the view has read it (waiting up to the read-your-writes timeout): a reader that must refuse what the view
     * refuses decides by the record's place in the topic, not by what either has read since.
     */
    public EventVerdicts.Verdict verdict(int partition, long offset) {
        if (!reader.awaitRead(new TopicPartition(Topics.JOB_EVENTS, partition), offset,
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

    // ---- what the view holds: live jobs in the heap, the rest in the store ----

    /** A job as the view holds it: its status and where its request lies ({@code -1} while not read). */
    private record LiveJob(JobStatus status, int partition, long offset) {

        LiveJob with(JobStatus s) {
            return new LiveJob(s, partition, offset);
        }
    }

    /** The job from the heap, else from the store; {@code null} when neither holds it. */
    private LiveJob lookup(String id) {
        LiveJob l = live.get(id);
        return l != null ? l : stored(id);
    }

    private LiveJob stored(String id) {
        StatusStore s = store;
        byte[] snapshot = s.status(id);
        if (snapshot == null) {
            return null; // every job stored has a status (its request, when read, beside it)
        }
        StatusStore.StoredRequest request = s.request(id);
        JobRequest r = request == null ? null : codec.readRequest(request.bytes());
        JobStatus status = JobStatus.fromSnapshot(codec.readEvent(snapshot));
        if (r != null) {
            status = status.withRequest(r);
        }
        return request == null ? new LiveJob(status, -1, -1) : new LiveJob(status, request.partition(), request.offset());
    }

    /** A status as the store keeps it: an event that is a snapshot of the job (its request stored apart). */
    private byte[] snapshot(JobStatus s) {
        return codec.writeEvent(new JobEvent(s.id(), s.state(), s.attempt(), s.finishedAt(), s.startedAt(), s.worker(),
                s.model(), s.progress(), s.inferenceMillis(), s.failure(), s.result()));
    }

    /** Where a job is listed: its owner ({@code ""} for none), state and place; {@code null} without a request. */
    private record Indexed(String owner, JobState state, StatusStore.Place place) {

        static Indexed of(JobStatus s) {
            JobRequest r = s.request();
            if (r == null || r.createdAt() == null) {
                return null;
            }
            return new Indexed(r.owner() == null ? "" : r.owner(), s.state(), new StatusStore.Place(r.createdAt(),
                    s.id()));
        }
    }

    /**
     * What the store holds of a job: its index entry ({@code null} without a request) and the offset of its request
     * ({@code -1} without one).
     */
    private record Stored(Indexed indexed, long requestOffset) {

        static Stored of(LiveJob l) {
            return new Stored(Indexed.of(l.status()), l.status().request() == null ? -1 : l.offset());
        }
    }

    /** What the store held of a job before the batch being read, and the request record the batch read. */
    private static final class Change {
        final boolean wasFinished;
        final Stored stored;
        byte[] requestBytes;
        long requestBytesOffset = -1;

        Change(boolean wasFinished, Stored stored) {
            this.wasFinished = wasFinished;
            this.stored = stored;
        }

        void read(long offset, byte[] bytes) {
            requestBytes = bytes;
            requestBytesOffset = offset;
        }
    }

    /**
     * Marks the job as changed by the batch being read, noting what the store holds of it, and brings it into the
     * heap until the batch is stored. The reader's thread only.
     */
    private Change touch(String id) {
        Change c = changes.get(id);
        if (c != null) {
            return c;
        }
        if (storedLive.containsKey(id)) {
            c = new Change(false, storedLive.get(id));
        } else {
            LiveJob s = stored(id);
            if (s == null) {
                c = new Change(false, new Stored(null, -1));
            } else {
                c = new Change(s.status().state().isTerminal(), Stored.of(s));
                live.putIfAbsent(id, s);
            }
        }
        changes.put(id, c);
        return c;
    }

    // ---- the reader's thread: records in, one stored batch per poll ----

    private void apply(ConsumerRecord<String, byte[]> r) {
        recordsRead++;
        if (r.value() == null) {
            return;
        }
        try {
            switch (r.topic()) {
                case Topics.JOBS -> applyRequest(r);
                case Topics.JOB_CONTROLS -> {
                    JobControl control = codec.readControl(r.value());
                    if (JobControl.CANCEL.equals(control.action()) && !cancelsToStore.containsKey(control.jobId())
                            && store.cancelAt(control.jobId()) == null) {
                        cancelsToStore.put(control.jobId(), control.at());
                        unstoredCancels.putIfAbsent(control.jobId(), control.at());
                    }
                }
                default -> verdicts.read(r.partition(), r.offset(), applyEvent(codec.readEvent(r.value())));
            }
        } catch (MalformedRecordException e) {
            log.warn("skipping unreadable record {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
        }
    }

    private void applyRequest(ConsumerRecord<String, byte[]> r) {
        LiveJob mine = r.key() == null ? null : live.get(r.key());
        if (mine != null && mine.offset() == r.offset() && mine.partition() == r.partition()
                && mine.status().request() != null) {
            // This instance stored it and holds it already: no need to decode it again (most of the requests a
            // gateway reads back are its own; decoding them again was a fifth of its CPU under a submit flood).
            touch(r.key()).read(r.offset(), r.value());
            return;
        }
        JobRequest request = codec.readRequest(r.value());
        if (!request.createdAt().isAfter(clock.instant().minus(properties.statusRetention()))) {
            return;
        }
        Change c = touch(request.id());
        LiveJob before = live.get(request.id());
        LiveJob after = live.compute(request.id(), (id, current) -> current == null
                ? new LiveJob(JobStatus.queued(request), r.partition(), r.offset())
                : withRequest(current, request, r.partition(), r.offset()));
        if (after != before && after.offset() == r.offset()) {
            c.read(r.offset(), r.value());
        }
    }

    /** Folds the event into its job's status; whether the fold took it (not refused as an illegal transition). */
    private boolean applyEvent(JobEvent event) {
        touch(event.jobId());
        LiveJob held = live.get(event.jobId());
        JobStatus before = held == null ? null : held.status();
        boolean[] refused = {false};
        JobStatus after = live.compute(event.jobId(), (id, current) -> {
            if (current == null) {
                return new LiveJob(JobStatus.fromSnapshot(event), -1, -1);
            }
            try {
                return current.with(current.status().apply(event));
            } catch (IllegalJobTransitionException e) {
                log.warn("ignoring event: {}", e.getMessage());
                refused[0] = true;
                return current;
            }
        }).status();
        Set<Consumer<JobStatus>> watching = watchers.get(event.jobId());
        if (watching != null && after != before) {
            watching.forEach(w -> w.accept(after));
        }
        fleet.reported(event, after);
        // Only live transitions count: replaying the topics at start-up must not re-record old jobs.
        if (reader.isCaughtUp() && after.state().isTerminal() && (before == null || !before.state().isTerminal())) {
            fleet.finished(event, after, cancelRequestedAt(event.jobId()).orElse(null));
        }
        return !refused[0];
    }

    /**
     * Stores what the poll changed, with the offsets it read up to, in one atomic batch; then lets finished jobs
     * leave the heap. Runs before anyone is told those records were read.
     */
    private void store(Map<TopicPartition, Long> read) {
        if (changes.isEmpty() && cancelsToStore.isEmpty() && read.equals(storedOffsets)) {
            sweepNowAndThen();
            return; // an idle poll: nothing to write
        }
        Map<JobState, Long> newlyFinished = new EnumMap<>(JobState.class);
        try (StatusStore.Batch b = store.batch()) {
            changes.forEach((id, c) -> {
                LiveJob l = live.get(id);
                if (l == null) {
                    return;
                }
                JobStatus s = l.status();
                b.status(id, snapshot(s));
                if (s.request() != null && l.offset() != c.stored.requestOffset()) {
                    // The request the job shows is not the one stored: the record as read, or, when this instance
                    // holds it from its own submit and read the job's events first, the request written anew.
                    b.request(id, l.partition(), l.offset(), c.requestBytesOffset == l.offset() ? c.requestBytes
                            : codec.writeRequest(s.request()));
                }
                Indexed now = Indexed.of(s);
                Indexed was = c.stored.indexed();
                if (!Objects.equals(was, now)) {
                    if (was != null) {
                        b.unindex(was.owner(), was.state(), was.place());
                    }
                    if (now != null) {
                        b.index(now.owner(), now.state(), now.place());
                    }
                }
                boolean ended = s.state().isTerminal();
                b.live(id, !ended);
                if (ended && !c.wasFinished) {
                    newlyFinished.merge(s.state(), 1L, Long::sum);
                    b.expiry(expiresAt(s), id);
                }
            });
            cancelsToStore.forEach((id, at) -> b.cancel(id, at).expiry(at.plus(properties.statusRetention()), id));
            Map<JobState, Long> counted = new EnumMap<>(finished);
            newlyFinished.forEach((state, n) -> counted.merge(state, n, Long::sum));
            b.offsets(read).counts(counted).commit();
            finished.putAll(counted);
            storedOffsets = Map.copyOf(read);
        } catch (RuntimeException e) {
            // The reader reads the batch again; what the heap took from it is taken again the same way.
            changes.clear();
            cancelsToStore.clear();
            throw e;
        }
        changes.forEach((id, c) -> {
            LiveJob l = live.get(id);
            if (l == null) {
                return;
            }
            if (l.status().state().isTerminal()) {
                storedLive.remove(id);
                live.computeIfPresent(id, (k, current) -> current.status().state().isTerminal() ? null : current);
            } else {
                storedLive.put(id, Stored.of(l));
            }
        });
        cancelsToStore.keySet().forEach(unstoredCancels::remove);
        changes.clear();
        cancelsToStore.clear();
        finishedCounts = Map.copyOf(finished);
        sweepNowAndThen();
    }

    private Instant expiresAt(JobStatus s) {
        return (s.finishedAt() != null ? s.finishedAt() : clock.instant()).plus(properties.statusRetention());
    }

    private void sweepNowAndThen() {
        Duration every = properties.statusRetention().dividedBy(10);
        if (Duration.between(lastSweep, clock.instant()).compareTo(every.compareTo(SWEEP_EVERY) < 0 ? every
                : SWEEP_EVERY) >= 0) {
            sweep();
            lastSweep = clock.instant();
        }
    }

    /** Removes finished jobs (and cancels) past their retention from the store. */
    private void sweep() {
        Instant now = clock.instant();
        List<StatusStore.Due> due = store.due(now, SWEEP_MAX);
        if (!due.isEmpty()) {
            Map<JobState, Long> counted = new EnumMap<>(finished);
            try (StatusStore.Batch b = store.batch()) {
                for (StatusStore.Due d : due) {
                    b.swept(d);
                    LiveJob l = stored(d.id());
                    JobStatus s = l == null ? null : l.status();
                    if (s != null && (!s.state().isTerminal() || expiresAt(s).isAfter(now))) {
                        continue; // still running, or a cancel's entry before the job's own
                    }
                    b.forget(d.id());
                    if (s != null) {
                        Indexed indexed = Indexed.of(s);
                        if (indexed != null) {
                            b.unindex(indexed.owner(), indexed.state(), indexed.place());
                        }
                        counted.merge(s.state(), -1L, Long::sum);
                    }
                }
                b.counts(counted).commit();
            }
            finished.putAll(counted);
            finishedCounts = Map.copyOf(finished);
        }
        fleet.forgetIdleWorkers();
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
        store = StatusStore.open(dir, storeProperties.cacheSize().toBytes());
        if (!offsetsStillOnTheTopics(store.offsets())) {
            log.warn("the status store in {} holds records the topics no longer have (or topics recreated since): "
                    + "reading the topics again", dir);
            store = store.wiped();
        }
        finished.putAll(store.counts());
        finishedCounts = Map.copyOf(finished);
        storedOffsets = store.offsets();
        long began = System.nanoTime();
        // Point reads and two decodes per job, on every core: about 110 µs a job on one core of this 2-core machine.
        List<String> ids = new ArrayList<>();
        store.forEachLive(ids::add);
        ids.parallelStream().forEach(id -> {
            LiveJob l = stored(id);
            if (l != null) {
                live.put(id, l);
            }
        });
        live.forEach((id, l) -> storedLive.put(id, Stored.of(l)));
        log.info("status store {}: {} live jobs loaded in {} ms, {} finished, reading from {}", dir, live.size(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began),
                finished.values().stream().mapToLong(Long::longValue).sum(),
                storedOffsets.isEmpty() ? "the beginning" : "where it stopped");
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
        StatusStore s = store;
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
