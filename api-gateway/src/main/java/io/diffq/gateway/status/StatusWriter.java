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
import io.diffq.gateway.GatewayProperties;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The status view's single writer, on its reader's thread: decodes each record of {@code diffq.jobs},
 * {@code diffq.job-events} and {@code diffq.job-controls}, folds it into the job's status in the heap, and after each
 * poll stores what the poll changed (statuses, requests, list indexes, finished counts, cancels) with the offsets it
 * read up to, in one atomic batch; then lets finished jobs leave the heap and, now and then, sweeps those past their
 * retention from the store.
 */
final class StatusWriter {

    private static final Logger log = LoggerFactory.getLogger(StatusWriter.class);
    /**
     * How often finished jobs past their retention are removed (a tenth of the retention when that is shorter, so a
     * job is gone at most a tenth late), and how many at most per round.
     */
    static final Duration SWEEP_EVERY = Duration.ofMinutes(1);
    static final int SWEEP_MAX = 20_000;
    /** Live jobs decoded together at start-up: enough to keep every core busy, few enough to hold undecoded. */
    private static final int LOAD_SLICE = 4096;

    private final LiveJobs jobs;
    private final JobCodec codec;
    private final GatewayProperties properties;
    private final Clock clock;
    private final FleetStats fleet;
    private final JobWatchers watchers;
    private final EventVerdicts verdicts;
    private final BooleanSupplier caughtUp;

    /** Cancels this instance stored or read that the store does not hold yet. */
    private final Map<String, Instant> unstoredCancels = new ConcurrentHashMap<>();
    // The reader's thread only: what the batch being read changes, and what the store holds of live jobs.
    private final Map<String, Change> changes = new LinkedHashMap<>();
    private final Map<String, Instant> cancelsToStore = new LinkedHashMap<>();
    /** Jobs the store holds as not finished: their index entry and the offset of their stored request. */
    private final Map<String, Stored> storedLive = new HashMap<>();
    private final Map<JobState, Long> finished = new EnumMap<>(JobState.class);
    private volatile Map<TopicPartition, Long> storedOffsets = Map.of();
    private volatile Map<JobState, Long> finishedCounts = Map.of();
    private volatile long recordsRead;
    private Instant lastSweep;

    StatusWriter(LiveJobs jobs, JobCodec codec, GatewayProperties properties, Clock clock, FleetStats fleet,
            JobWatchers watchers, EventVerdicts verdicts, BooleanSupplier caughtUp) {
        this.jobs = jobs;
        this.codec = codec;
        this.properties = properties;
        this.clock = clock;
        this.fleet = fleet;
        this.watchers = watchers;
        this.verdicts = verdicts;
        this.caughtUp = caughtUp;
        this.lastSweep = clock.instant();
    }

    /**
     * Takes up what the store (just opened) holds: its finished counts, its offsets and its live jobs, loaded into the
     * heap.
     *
     * @return how many live jobs it loaded
     */
    int load(StatusStore store) {
        finished.putAll(store.counts());
        finishedCounts = Map.copyOf(finished);
        storedOffsets = store.offsets();
        // One scan of the live jobs' copies; their two decodes each on every core, a slice at a time.
        List<StatusStore.LiveCopy> slice = new ArrayList<>(LOAD_SLICE);
        store.forEachLive(copy -> {
            slice.add(copy);
            if (slice.size() == LOAD_SLICE) {
                loadLive(slice);
            }
        });
        loadLive(slice);
        jobs.heap.forEach((id, l) -> storedLive.put(id, Stored.of(l)));
        return jobs.heap.size();
    }

    private void loadLive(List<StatusStore.LiveCopy> slice) {
        slice.parallelStream().forEach(c -> jobs.put(c.id(), jobs.decoded(c.snapshot(), c.request())));
        slice.clear();
    }

    /** Where the store stopped in {@code tp}; {@code null} when it holds nothing of it. */
    Long storedOffset(TopicPartition tp) {
        return storedOffsets.get(tp);
    }

    boolean storedNothing() {
        return storedOffsets.isEmpty();
    }

    /** Finished jobs per state, as stored. */
    Map<JobState, Long> finishedCounts() {
        return finishedCounts;
    }

    /** Records read since this instance started. */
    long recordsRead() {
        return recordsRead;
    }

    /** Records a cancel this instance just stored. */
    void cancelRequested(JobControl control) {
        if (jobs.store().cancelAt(control.jobId()) == null) {
            unstoredCancels.putIfAbsent(control.jobId(), control.at());
        }
    }

    /** When a client asked to cancel the job, if one did. */
    Optional<Instant> cancelRequestedAt(String id) {
        Instant at = unstoredCancels.get(id);
        return Optional.ofNullable(at != null ? at : jobs.store().cancelAt(id));
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
            LiveJob s = jobs.stored(id);
            if (s == null) {
                c = new Change(false, new Stored(null, -1));
            } else {
                c = new Change(s.status().state().isTerminal(), Stored.of(s));
                jobs.putIfAbsent(id, s);
            }
        }
        changes.put(id, c);
        return c;
    }

    /** The reader's sink: one record into the heap (stored with its batch by {@link #store}). */
    void apply(ConsumerRecord<String, byte[]> r) {
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
                            && jobs.store().cancelAt(control.jobId()) == null) {
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
        LiveJob mine = r.key() == null ? null : jobs.heap.get(r.key());
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
        LiveJob before = jobs.heap.get(request.id());
        LiveJob after = jobs.compute(request.id(), (id, current) -> current == null
                ? new LiveJob(JobStatus.queued(request), r.partition(), r.offset())
                : current.withRequest(request, r.partition(), r.offset()));
        if (after != before && after.offset() == r.offset()) {
            c.read(r.offset(), r.value());
        }
    }

    /** Folds the event into its job's status; whether the fold took it (not refused as an illegal transition). */
    private boolean applyEvent(JobEvent event) {
        touch(event.jobId());
        LiveJob held = jobs.heap.get(event.jobId());
        JobStatus before = held == null ? null : held.status();
        boolean[] refused = {false};
        JobStatus after = jobs.compute(event.jobId(), (id, current) -> {
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
        if (after != before) {
            watchers.changed(event.jobId(), after);
        }
        fleet.reported(event, after);
        // Only live transitions count: replaying the topics at start-up must not re-record old jobs.
        if (caughtUp.getAsBoolean() && after.state().isTerminal() && (before == null || !before.state().isTerminal())) {
            fleet.finished(event, after, cancelRequestedAt(event.jobId()).orElse(null));
        }
        return !refused[0];
    }

    /**
     * Stores what the poll changed, with the offsets it read up to, in one atomic batch; then lets finished jobs
     * leave the heap. Runs before anyone is told those records were read.
     */
    void store(Map<TopicPartition, Long> read) {
        if (changes.isEmpty() && cancelsToStore.isEmpty() && read.equals(storedOffsets)) {
            sweepNowAndThen();
            return; // an idle poll: nothing to write
        }
        Map<JobState, Long> newlyFinished = new EnumMap<>(JobState.class);
        try (StatusStore.Batch b = jobs.store().batch()) {
            changes.forEach((id, c) -> {
                LiveJob l = jobs.heap.get(id);
                if (l == null) {
                    return;
                }
                JobStatus s = l.status();
                boolean ended = s.state().isTerminal();
                byte[] snapshot = snapshot(s);
                b.status(id, snapshot);
                if (s.request() != null && l.offset() != c.stored.requestOffset()) {
                    // The request the job shows is not the one stored: the record as read, or, when this instance
                    // holds it from its own submit and read the job's events first, the request written anew.
                    byte[] request = c.requestBytesOffset == l.offset() ? c.requestBytes
                            : codec.writeRequest(s.request());
                    b.request(id, l.partition(), l.offset(), request);
                    if (!ended) {
                        b.liveRequest(id, l.partition(), l.offset(), request);
                    }
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
                if (ended) {
                    b.ended(id);
                } else {
                    b.live(id, snapshot);
                }
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
            LiveJob l = jobs.heap.get(id);
            if (l == null) {
                return;
            }
            if (l.status().state().isTerminal()) {
                storedLive.remove(id);
                jobs.computeIfPresent(id, (k, current) -> current.status().state().isTerminal() ? null : current);
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
        List<StatusStore.Due> due = jobs.store().due(now, SWEEP_MAX);
        if (!due.isEmpty()) {
            Map<JobState, Long> counted = new EnumMap<>(finished);
            try (StatusStore.Batch b = jobs.store().batch()) {
                for (StatusStore.Due d : due) {
                    b.swept(d);
                    LiveJob l = jobs.stored(d.id());
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
}
