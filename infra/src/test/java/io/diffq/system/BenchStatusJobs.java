package io.diffq.system;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.kafka.JobKeys;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The {@code status} scenario's jobs, written straight to the topics as the gateway and the workers write real
 * ones: each request on {@code diffq.jobs} keyed by its id, and each finished job's events on
 * {@code diffq.job-events} keyed by {@link JobKeys#event}, all in the partition the id hashes to. Every draw
 * (kind, owner, ids, prompts) comes from one seeded generator, in job order, so one seed gives the same jobs;
 * sizes grow by appending ({@link #writeUpTo}), so a run at 100,000 jobs after one at 20,000 holds the same
 * 20,000 first jobs.
 */
final class BenchStatusJobs implements AutoCloseable {

    /** What happened to a job, and the state a reader must show for it. */
    enum Kind {
        /** Only the request: waiting for a worker. */
        WAITING("QUEUED"),
        /** {@code RUNNING} then {@code SUCCEEDED}, attempt 1. */
        SUCCEEDED("SUCCEEDED"),
        /** {@code RUNNING} then {@code CANCELED} mid-run, attempt 1. */
        CANCELED("CANCELED"),
        /**
         * Redelivered: attempt 1 starts, attempt 2 starts and succeeds, then attempt 1's worker (paused past its
         * lock) writes a late progress event, which every reader must refuse.
         */
        REDELIVERED_WITH_LATE_WRITE("SUCCEEDED");

        final String state;

        Kind(String state) {
            this.state = state;
        }
    }

    /** One job: its id and what happened to it. */
    record Job(String id, Kind kind) {
    }

    /** How far apart the jobs were accepted: 10 million a day. */
    static final Duration ARRIVAL = Duration.ofNanos(8_640_000);
    /** Shares of the finished jobs: canceled mid-run, and redelivered with a late write of attempt 1. */
    static final double CANCELED_SHARE = 0.05;
    static final double REDELIVERED_SHARE = 0.01;
    /** The Zipf exponent of the owners' draw: key k (from 1) owns a share proportional to 1 / k. */
    static final double ZIPF_EXPONENT = 1.0;
    static final int STEPS = 20;

    private static final String[] WORDS = ("a watercolor oil photo portrait of an old red quiet lighthouse harbor "
            + "fox city street at dusk dawn night under rain snow with soft dramatic light highly detailed cinematic "
            + "wide angle view misty mountains forest river neon").split(" ");

    private final JobCodec codec = new JobCodec();
    private final KafkaProducer<String, byte[]> producer;
    private final int jobPartitions;
    private final int eventPartitions;
    private final double waitingFraction;
    private final double[] ownerCdf;
    private final SplittableRandom random;
    private final List<Job> jobs = new ArrayList<>();
    private final Map<Kind, Integer> counts = new EnumMap<>(Kind.class);
    private long recordsWritten;

    BenchStatusJobs(String bootstrapServers, double waitingFraction, int keys, long seed) {
        this.producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.LINGER_MS_CONFIG, 20,
                ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024,
                ProducerConfig.BUFFER_MEMORY_CONFIG, 128L * 1024 * 1024,
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 * 1024 * 1024),
                new StringSerializer(), new ByteArraySerializer());
        this.jobPartitions = producer.partitionsFor(Topics.JOBS).size();
        this.eventPartitions = producer.partitionsFor(Topics.JOB_EVENTS).size();
        this.waitingFraction = waitingFraction;
        this.ownerCdf = zipfCdf(keys, ZIPF_EXPONENT);
        this.random = new SplittableRandom(seed);
    }

    /** The cumulative shares of {@code keys} owners, the k-th (from 1) weighing {@code 1 / k^exponent}. */
    static double[] zipfCdf(int keys, double exponent) {
        double[] cdf = new double[keys];
        double sum = 0;
        for (int k = 0; k < keys; k++) {
            sum += 1 / Math.pow(k + 1, exponent);
            cdf[k] = sum;
        }
        for (int k = 0; k < keys; k++) {
            cdf[k] /= sum;
        }
        return cdf;
    }

    static String owner(int k) {
        return String.format("bench-key-%03d", k);
    }

    /**
     * Draws and writes jobs until {@code total} are written (none when that many already are), then waits until
     * the broker acknowledged every record. Returns what was written, how fast, and of which kinds.
     */
    Map<String, Object> writeUpTo(int total) {
        int from = jobs.size();
        long records0 = recordsWritten;
        // Accepted ARRIVAL apart, the newest a minute before now: every event time (a redelivered job ends 32 s
        // after it was accepted) lies in the past.
        Instant newest = Instant.now().minusSeconds(60);
        AtomicLong failed = new AtomicLong();
        AtomicReference<Exception> firstFailure = new AtomicReference<>();
        long t0 = System.nanoTime();
        for (int i = from; i < total; i++) {
            Instant createdAt = newest.minus(ARRIVAL.multipliedBy(total - 1 - i));
            write(i, createdAt, (meta, e) -> {
                if (e != null) {
                    failed.incrementAndGet();
                    firstFailure.compareAndSet(null, e);
                }
            });
        }
        producer.flush();
        double seconds = Math.max(1e-3, (System.nanoTime() - t0) / 1e9);
        if (failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " records were not written", firstFailure.get());
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("jobsWritten", total - from);
        m.put("recordsWritten", recordsWritten - records0);
        m.put("seconds", LatencyStats.round(seconds));
        m.put("recordsPerSecond", Math.round((recordsWritten - records0) / seconds));
        m.put("jobsByKind", countsByKind());
        return m;
    }

    private void write(int i, Instant createdAt, org.apache.kafka.clients.producer.Callback done) {
        Kind kind = drawKind();
        String owner = owner(drawOwner());
        String id = new UUID((random.nextLong() & ~0xF000L) | 0x4000L,
                (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L).toString();
        JobRequest request = new JobRequest(id, prompt(), "", 512, 512, STEPS, 7.5, random.nextLong(1L << 32),
                "simulated", null, createdAt, null, null, owner, null);
        // Stamped as a real gateway and worker stamp them (the time each was written), so the records span the
        // hours the jobs do, not the seconds the bench takes to write them.
        producer.send(new ProducerRecord<>(Topics.JOBS, JobKeys.partition(id, jobPartitions),
                createdAt.toEpochMilli(), id, codec.writeRequest(request)), done);
        recordsWritten++;
        int partition = JobKeys.partition(id, eventPartitions);
        for (JobEvent e : events(id, kind, createdAt, i)) {
            producer.send(new ProducerRecord<>(Topics.JOB_EVENTS, partition, e.at().toEpochMilli(), JobKeys.event(e),
                    codec.writeEvent(e)), done);
            recordsWritten++;
        }
        jobs.add(new Job(id, kind));
        counts.merge(kind, 1, Integer::sum);
    }

    private Kind drawKind() {
        if (random.nextDouble() < waitingFraction) {
            return Kind.WAITING;
        }
        double u = random.nextDouble();
        return u < REDELIVERED_SHARE ? Kind.REDELIVERED_WITH_LATE_WRITE
                : u < REDELIVERED_SHARE + CANCELED_SHARE ? Kind.CANCELED : Kind.SUCCEEDED;
    }

    private int drawOwner() {
        double u = random.nextDouble();
        int lo = 0;
        int hi = ownerCdf.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (ownerCdf[mid] < u) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** 6 to 24 words: about 40 to 170 characters, as prompts run. */
    private String prompt() {
        int n = 6 + random.nextInt(19);
        StringBuilder b = new StringBuilder();
        for (int w = 0; w < n; w++) {
            b.append(w == 0 ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
        }
        return b.toString();
    }

    /**
     * The events a worker writes for a job of {@code kind}, in order (as StatusAfterCompactionIntegrationTests'
     * stories): it started 0.5 s after {@code createdAt}, ran 1.5 s; a redelivered one's attempt 2 started 30 s
     * after its attempt 1.
     */
    private static List<JobEvent> events(String id, Kind kind, Instant createdAt, int i) {
        Instant s1 = createdAt.plusMillis(500);
        Instant s2 = s1.plusSeconds(30);
        String w1 = "bench-worker-" + (i % 8);
        String w2 = "bench-worker-" + ((i + 1) % 8);
        ResultRef image = new ResultRef(0, i, "image/png", 400_000);
        return switch (kind) {
            case WAITING -> List.of();
            case SUCCEEDED -> List.of(running(id, 1, s1, w1, 0),
                    JobEvent.succeeded(id, 1, s1, w1, "simulated", new Progress(STEPS, STEPS), 1400, image,
                            s1.plusMillis(1500)));
            case CANCELED -> List.of(running(id, 1, s1, w1, 0),
                    JobEvent.canceled(id, 1, s1, w1, "simulated", new Progress(5, STEPS), s1.plusMillis(400)));
            case REDELIVERED_WITH_LATE_WRITE -> List.of(running(id, 1, s1, w1, 0), running(id, 2, s2, w2, 0),
                    JobEvent.succeeded(id, 2, s2, w2, "simulated", new Progress(STEPS, STEPS), 1400, image,
                            s2.plusMillis(1500)),
                    running(id, 1, s1, w1, 5));
        };
    }

    private static JobEvent running(String id, int attempt, Instant startedAt, String worker, int step) {
        return JobEvent.running(id, attempt, startedAt, worker, "simulated", new Progress(step, STEPS),
                startedAt.plusMillis(70L * step));
    }

    /** Every job written so far, in the order written. */
    List<Job> jobs() {
        return jobs;
    }

    /** Records written so far (requests and events). */
    long recordsWritten() {
        return recordsWritten;
    }

    Map<String, Integer> countsByKind() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (Kind k : Kind.values()) {
            m.put(k.name(), counts.getOrDefault(k, 0));
        }
        return m;
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
    }
}
