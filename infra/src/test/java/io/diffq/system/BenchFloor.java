package io.diffq.system;

import io.diffq.testing.KafkaBrokerProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The {@code floor} scenario: what the broker alone costs a durable job queue, with none of diffq above it. Bare
 * Kafka clients in the bench's JVM do a job's Kafka work and nothing else: 32 submitting threads each send a job
 * record and wait for its acknowledgement (as the gateway does before its 202); two worker threads, each with its
 * own consumer and producer (as two worker processes), take one record at a time, write the job's results and
 * wait for them, then mark the record done. No HTTP, JSON, status view, events tap, model or image. No simulated
 * work either: the numbers are the most a broker on this machine gives such a queue, a floor under diffq's own
 * {@code drain} (docs/benchmarks.md, "The Kafka floor").
 *
 * <p>Variants ({@link #VARIANTS}): the delivery (a share group, one record per acquisition and the acknowledgement
 * riding the next fetch, as diffq's workers; or a consumer group, with a synchronous commit per record) times the
 * writes per job (one result record; or diffq's three: a status event not waited for, then the image and the
 * terminal event, each waited for in turn), one share variant with twice the worker threads and one that takes up
 * to {@link Bench#BATCH} records per poll as one batch (the {@code batch} scenario's shape). Each variant runs
 * twice on fresh topics and a fresh group: the first run warms the JITs and the group, the second is reported.
 */
final class BenchFloor {

    private static final int SUBMITTERS = 32;
    private static final int WORKERS = 2;
    /** About a job record's, an 8x8 PNG's and a job event's sizes in the {@code drain} scenario. */
    private static final int JOB_BYTES = 420;
    private static final int IMAGE_BYTES = 160;
    private static final int EVENT_BYTES = 380;
    private static final Duration POLL = Duration.ofMillis(100);

    enum Delivery { SHARE, GROUP }

    private final KafkaBrokerProcess broker;
    private final Supplier<Map<String, Long>> pids;
    private int topics;

    BenchFloor(KafkaBrokerProcess broker, Supplier<Map<String, Long>> pids) {
        this.broker = broker;
        this.pids = pids;
    }

    /** One variant: its delivery, writes per job, worker threads and most records per poll (a share group's). */
    private record Variant(Delivery delivery, int writes, int workers, int batch) {
        String name() {
            return delivery.name().toLowerCase(Locale.ROOT) + "-" + writes + "-write" + (writes > 1 ? "s" : "")
                    + (workers != WORKERS ? "-" + workers + "-workers" : "") + (batch > 1 ? "-batch-" + batch : "");
        }
    }

    /**
     * diffq's two workers with one and with three writes per job, on each delivery; and share consumers doubled
     * (what {@code consumers-per-device} 2 would give two workers: their writes overlap the next fetch).
     */
    private static final List<Variant> VARIANTS = List.of(new Variant(Delivery.SHARE, 1, WORKERS, 1),
            new Variant(Delivery.SHARE, 3, WORKERS, 1), new Variant(Delivery.SHARE, 3, 2 * WORKERS, 1),
            new Variant(Delivery.SHARE, 3, WORKERS, Bench.BATCH), new Variant(Delivery.GROUP, 1, WORKERS, 1),
            new Variant(Delivery.GROUP, 3, WORKERS, 1));

    /** Each variant with {@code jobs} jobs, keyed by its name. */
    Map<String, Object> run(int jobs) throws Exception {
        Map<String, Object> runs = new LinkedHashMap<>();
        for (Variant v : VARIANTS) {
            Bench.log("floor %s: warm-up run", v.name());
            once(v, jobs);
            Bench.log("floor %s: measured run", v.name());
            runs.put(v.name(), once(v, jobs));
        }
        return runs;
    }

    private Map<String, Object> once(Variant v, int jobs) throws Exception {
        Delivery delivery = v.delivery();
        int workerCount = v.workers();
        int n = ++topics;
        String jobTopic = "floor.jobs." + n;
        String group = "floor-workers-" + n;
        // A consumer group needs a partition per worker; a share group shares one (diffq's default).
        broker.createTopics(delivery == Delivery.GROUP ? workerCount : 1, jobTopic);
        broker.createTopics(1, "floor.results." + n, "floor.events." + n);
        if (delivery == Delivery.SHARE) {
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    broker.bootstrapServers()))) {
                admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, group),
                        List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"),
                                AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
            }
        }
        Semaphore finished = new Semaphore(0);
        List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < workerCount; i++) {
            Worker w = new Worker(delivery, v.writes(), v.batch(), jobTopic, group, n, finished);
            workers.add(w);
            w.start();
        }
        boolean primed;
        boolean all;
        double seconds;
        List<Double> submitMs;
        BenchCpu.Snapshot cpu0;
        BenchCpu.Snapshot cpu1;
        try (KafkaProducer<String, byte[]> producer = producer("floor-submit")) {
            primed = prime(producer, jobTopic, workers, finished);
            workers.forEach(Worker::measure);
            cpu0 = BenchCpu.take(pids.get());
            long start = System.nanoTime();
            submitMs = submit(producer, jobTopic, jobs, "job-");
            all = finished.tryAcquire(jobs, 120, TimeUnit.SECONDS);
            seconds = (System.nanoTime() - start) / 1e9;
            cpu1 = BenchCpu.take(pids.get());
        }
        List<Double> gaps = new ArrayList<>();
        List<Double> writesMs = new ArrayList<>();
        for (Worker w : workers) {
            w.stop();
            gaps.addAll(w.gaps);
            writesMs.addAll(w.writes);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("delivery", delivery == Delivery.SHARE
                ? "share group on 1 partition, explicit acknowledgement, record_limit, max.poll.records " + v.batch()
                : "consumer group on " + workerCount + " partitions, max.poll.records 1, commitSync after each record");
        r.put("workerThreads", workerCount);
        r.put("writesPerJob", v.writes() == 1 ? "one result record, waited for"
                : "a status event not waited for, then the image and the terminal event, each waited for");
        r.put("jobs", jobs);
        r.put("everyWorkerPrimed", primed);
        r.put("allDone", all);
        r.put("jobsPerSecond", all ? LatencyStats.round(jobs / seconds) : null);
        r.put("submitMs", LatencyStats.of(submitMs));
        // As the drain's idle gap: from a job's end (before its writes) to the next record in the worker's hands,
        // while a backlog waits.
        r.put("idleGapMs", LatencyStats.of(gaps));
        r.put("writesMs", LatencyStats.of(writesMs));
        r.put("cpuMsPerJob", BenchCpu.perJob(cpu0, cpu1, jobs));
        return r;
    }

    /**
     * Jobs one at a time until every worker has run one (it has joined its group and has work to take), at most
     * 200: the measured jobs then find every worker ready. Returns whether every worker ran one.
     */
    private boolean prime(KafkaProducer<String, byte[]> producer, String topic, List<Worker> workers,
            Semaphore finished) throws Exception {
        for (int i = 0; i < 200 && workers.stream().anyMatch(w -> w.processed == 0); i++) {
            producer.send(new ProducerRecord<>(topic, "prime-" + i, filled(JOB_BYTES, 'j'))).get();
            if (!finished.tryAcquire(60, TimeUnit.SECONDS)) {
                return false;
            }
        }
        return workers.stream().allMatch(w -> w.processed > 0);
    }

    /** {@code jobs} records from 32 threads on one producer, each send waited for; the latency of each. */
    private static List<Double> submit(KafkaProducer<String, byte[]> producer, String topic, int jobs,
            String keyPrefix) throws Exception {
        byte[] value = filled(JOB_BYTES, 'j');
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>(jobs));
        ExecutorService threads = Executors.newFixedThreadPool(SUBMITTERS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < SUBMITTERS; t++) {
                int from = t;
                futures.add(threads.submit(() -> {
                    for (int i = from; i < jobs; i += SUBMITTERS) {
                        long t0 = System.nanoTime();
                        producer.send(new ProducerRecord<>(topic, keyPrefix + i, value)).get();
                        latencies.add((System.nanoTime() - t0) / 1e6);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            threads.shutdownNow();
        }
        return latencies;
    }

    private KafkaProducer<String, byte[]> producer(String clientId) {
        // The services' producer settings (application.yml): acknowledged by all in-sync replicas, idempotent,
        // sent at once.
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.CLIENT_ID_CONFIG, clientId, ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.LINGER_MS_CONFIG, 0),
                new StringSerializer(), new ByteArraySerializer());
    }

    /** One worker thread: its own consumer and producer; the idle gaps and write times it saw. */
    private final class Worker {
        private final Delivery delivery;
        private final int writesPerJob;
        private final int batch;
        private final String jobTopic;
        private final String group;
        private final int n;
        private final Semaphore finished;
        private final Thread thread;
        private final List<Double> gaps = new ArrayList<>();
        private final List<Double> writes = new ArrayList<>();
        private volatile boolean running = true;
        /** Jobs run so far, and whether the gaps and writes are kept (not while priming). */
        private volatile long processed;
        private volatile boolean measuring;

        Worker(Delivery delivery, int writesPerJob, int batch, String jobTopic, String group, int n,
                Semaphore finished) {
            this.delivery = delivery;
            this.writesPerJob = writesPerJob;
            this.batch = batch;
            this.jobTopic = jobTopic;
            this.group = group;
            this.n = n;
            this.finished = finished;
            this.thread = new Thread(this::loop, "floor-worker");
        }

        void start() {
            thread.start();
        }

        void measure() {
            measuring = true;
        }

        /** Ends the loop and waits for it (its last acknowledgement or commit is sent on close). */
        void stop() throws InterruptedException {
            running = false;
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }

        private void loop() {
            byte[] image = filled(IMAGE_BYTES, 'i');
            byte[] event = filled(EVENT_BYTES, 'e');
            String results = "floor.results." + n;
            String events = "floor.events." + n;
            try (KafkaProducer<String, byte[]> producer = producer("floor-worker-" + n)) {
                // A batch's writes as diffq's: each kind sent for every job of the batch, then waited for.
                Job job = (keys) -> {
                    long t0 = System.nanoTime();
                    if (writesPerJob > 1) {
                        keys.forEach(key -> producer.send(new ProducerRecord<>(events, key, event)));
                    }
                    awaitAll(keys.stream().map(key -> producer.send(new ProducerRecord<>(results, key, image)))
                            .toList());
                    if (writesPerJob > 1) {
                        awaitAll(keys.stream().map(key -> producer.send(new ProducerRecord<>(events, key, event)))
                                .toList());
                    }
                    if (measuring) {
                        writes.add((System.nanoTime() - t0) / 1e6);
                    }
                };
                if (delivery == Delivery.SHARE) {
                    share(job);
                } else {
                    group(job);
                }
            } catch (Exception e) {
                Bench.log("floor worker failed: %s", e);
            }
        }

        private void share(Job job) throws Exception {
            try (KafkaShareConsumer<String, byte[]> consumer = new KafkaShareConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                    ConsumerConfig.GROUP_ID_CONFIG, group,
                    ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit",
                    ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit",
                    ConsumerConfig.MAX_POLL_RECORDS_CONFIG, batch),
                    new StringDeserializer(), new ByteArrayDeserializer())) {
                consumer.subscribe(List.of(jobTopic));
                long ended = 0;
                while (running) {
                    ConsumerRecords<String, byte[]> records = consumer.poll(POLL);
                    if (records.isEmpty()) {
                        ended = 0;
                        continue;
                    }
                    // The records of one poll are one batch (one record unless batch > 1), as diffq's loop draws.
                    gap(ended);
                    // As diffq's finishedAt: the batch's end, before its writes.
                    long finishedAt = System.nanoTime();
                    List<String> keys = new ArrayList<>(records.count());
                    records.forEach(r -> keys.add(r.key()));
                    job.run(keys);
                    // Rides the next poll's fetch, as diffq's loop acknowledges.
                    records.forEach(r -> consumer.acknowledge(r, AcknowledgeType.ACCEPT));
                    ended = finishedAt;
                    processed += records.count();
                    finished.release(records.count());
                }
                consumer.commitSync(Duration.ofSeconds(10));
            }
        }

        private void group(Job job) throws Exception {
            try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                    ConsumerConfig.GROUP_ID_CONFIG, group,
                    ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer",
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                    ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                    ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1),
                    new StringDeserializer(), new ByteArrayDeserializer())) {
                consumer.subscribe(List.of(jobTopic));
                long ended = 0;
                while (running) {
                    ConsumerRecords<String, byte[]> records = consumer.poll(POLL);
                    for (ConsumerRecord<String, byte[]> record : records) {
                        gap(ended);
                        // As diffq's finishedAt: the job's end, before its writes.
                        long finishedAt = System.nanoTime();
                        job.run(List.of(record.key()));
                        consumer.commitSync(Map.of(new TopicPartition(record.topic(), record.partition()),
                                new OffsetAndMetadata(record.offset() + 1)));
                        ended = finishedAt;
                        processed++;
                        finished.release();
                    }
                    if (records.isEmpty()) {
                        ended = 0;
                    }
                }
            }
        }

        /** The gap since the last job ended, when the poll before this record found work (not after an empty one). */
        private void gap(long ended) {
            if (ended != 0 && measuring) {
                gaps.add((System.nanoTime() - ended) / 1e6);
            }
        }
    }

    /** A batch's writes (one job's, unless batching). */
    @FunctionalInterface
    private interface Job {
        void run(List<String> keys) throws Exception;
    }

    private static void awaitAll(List<? extends Future<?>> futures) throws Exception {
        for (Future<?> f : futures) {
            f.get();
        }
    }

    private static byte[] filled(int size, char c) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) c);
        return b;
    }
}
