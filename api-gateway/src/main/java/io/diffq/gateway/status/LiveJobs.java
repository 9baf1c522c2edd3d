package io.diffq.gateway.status;

import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.common.json.JobCodec;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * The jobs the view holds: those not finished (and those the batch being read changed, until it is stored) in the
 * heap, every job in the {@link StatusStore}; and counts of the live ones.
 */
final class LiveJobs {

    private final ConcurrentHashMap<String, LiveJob> live = new ConcurrentHashMap<>();
    /**
     * Jobs not finished, and jobs changed by the batch being read: each with its status and where its request lies.
     * Read-only: they change through {@link #compute} and its siblings, which count the changes.
     */
    final Map<String, LiveJob> heap = Collections.unmodifiableMap(live);
    private final AtomicLong changes = new AtomicLong();
    private final JobCodec codec;
    private volatile StatusStore store;

    /** When the counts were taken: long enough ago that the first call takes them. */
    private volatile long countsAt = System.nanoTime() - 2_000_000_000L;
    private volatile Counts counts = new Counts(Map.of(), Map.of(), Map.of(), Map.of(), countsAt);
    private final AtomicBoolean rebuildingCounts = new AtomicBoolean();

    LiveJobs(JobCodec codec) {
        this.codec = codec;
    }

    /**
     * How many times the heap has changed: equal at two moments when no job was added, changed or dropped in
     * between (each change counts once it is made).
     */
    long changes() {
        return changes.get();
    }

    /** As {@link Map#compute}, counted. */
    LiveJob compute(String id, BiFunction<String, LiveJob, LiveJob> change) {
        try {
            return live.compute(id, change);
        } finally {
            changes.incrementAndGet();
        }
    }

    /** As {@link Map#computeIfPresent}, counted. */
    void computeIfPresent(String id, BiFunction<String, LiveJob, LiveJob> change) {
        try {
            live.computeIfPresent(id, change);
        } finally {
            changes.incrementAndGet();
        }
    }

    /** As {@link Map#put}, counted. */
    void put(String id, LiveJob job) {
        live.put(id, job);
        changes.incrementAndGet();
    }

    /** As {@link Map#putIfAbsent}, counted. */
    void putIfAbsent(String id, LiveJob job) {
        live.putIfAbsent(id, job);
        changes.incrementAndGet();
    }

    StatusStore store() {
        return store;
    }

    void use(StatusStore store) {
        this.store = store;
    }

    /** The job from the heap, else from the store; {@code null} when neither holds it. */
    LiveJob lookup(String id) {
        LiveJob l = heap.get(id);
        return l != null ? l : stored(id);
    }

    /** The job as the store holds it (two point reads and two decodes); {@code null} when it does not. */
    LiveJob stored(String id) {
        StatusStore s = store;
        byte[] snapshot = s.status(id);
        if (snapshot == null) {
            return null; // every job stored has a status (its request, when read, beside it)
        }
        return decoded(snapshot, s.request(id));
    }

    /** A job from its stored status and request ({@code null} while not read). */
    LiveJob decoded(byte[] snapshot, StatusStore.StoredRequest request) {
        JobStatus status = JobStatus.fromSnapshot(codec.readEvent(snapshot));
        if (request == null) {
            return new LiveJob(status, -1, -1);
        }
        return new LiveJob(status.withRequest(codec.readRequest(request.bytes())), request.partition(),
                request.offset());
    }

    /** The queue's entry of a job held as queued with its request; {@code null} otherwise. */
    QueueOrder.Entry queueEntry(String id) {
        LiveJob l = heap.get(id);
        return l == null ? null : l.queueEntry();
    }

    /** Calls {@code action} with the entry of every job held as queued with its request. */
    void forEachQueued(Consumer<QueueOrder.Entry> action) {
        heap.values().forEach(l -> {
            QueueOrder.Entry e = l.queueEntry();
            if (e != null) {
                action.accept(e);
            }
        });
    }

    /** The counts of live jobs from one pass over them, taken at most once a second (one scrape reads them all). */
    Counts counts() {
        long now = System.nanoTime();
        // One caller rebuilds; the others take the snapshot at hand meanwhile, so that concurrent callers do not each
        // pass over every live job (100k waiting at 1M retained, in the status benchmark).
        if (now - countsAt > 1_000_000_000L && rebuildingCounts.compareAndSet(false, true)) {
            try {
                countsAt = System.nanoTime();
                counts = countLive(countsAt);
            } finally {
                rebuildingCounts.set(false);
            }
        }
        return counts;
    }

    private Counts countLive(long takenAt) {
        Map<JobState, Long> byState = new EnumMap<>(JobState.class);
        Map<String, Long> queued = new HashMap<>();
        Map<String, Long> running = new HashMap<>();
        Map<String, Long> queuedByOwner = new HashMap<>();
        heap.values().forEach(l -> {
            JobStatus s = l.status();
            if (s.state() == JobState.QUEUED) {
                byState.merge(s.state(), 1L, Long::sum);
                queued.merge(modelOf(s), 1L, Long::sum);
                if (s.request() != null && s.request().owner() != null) {
                    queuedByOwner.merge(s.request().owner(), 1L, Long::sum);
                }
            } else if (s.state() == JobState.RUNNING) {
                byState.merge(s.state(), 1L, Long::sum);
                running.merge(modelOf(s), 1L, Long::sum);
            }
        });
        return new Counts(byState, queued, running, queuedByOwner, takenAt);
    }

    static String modelOf(JobStatus s) {
        return s.model() == null ? "" : s.model();
    }

    /**
     * Live jobs per state; waiting and running ones per model ({@code ""} for none known); waiting ones per owner
     * (the API key that submitted them); and when the pass that counted them began ({@link System#nanoTime()}): a
     * job in the heap by then is counted.
     */
    record Counts(Map<JobState, Long> byState, Map<String, Long> queuedByModel, Map<String, Long> runningByModel,
            Map<String, Long> queuedByOwner, long takenAt) {
    }
}
