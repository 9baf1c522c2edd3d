package io.diffq.worker.consumer;

import io.diffq.common.kafka.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.ShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPIKE (issue 29, {@code diffq.worker.delivery=share}): one device's loop in a Kafka share group, to measure
 * against {@link JobLoop}. Records are acquired one poll at a time ({@code record_limit}, at most
 * {@code max-batch}); the broker counts deliveries, so a job starts with no round trip of its own; the job runs
 * on the device's thread while this loop waits for it, renewing the acquisition lock every half lock; a record
 * is ACCEPTed once its terminal event is acknowledged, RELEASEd (the next delivery is the next attempt) when its
 * writes failed, it asks to run again, or it is handed back. Not yet: repeat detection of records with one job
 * id, which the consumer-group loop does in {@link OffsetLedger}.
 */
final class ShareJobLoop implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(ShareJobLoop.class);

    private record Acquired(int partition, long offset) {

        static Acquired of(ConsumerRecord<?, ?> r) {
            return new Acquired(r.partition(), r.offset());
        }
    }

    /** One acquired record's job: its batch's outcomes (when the model is done), and its place in the batch. */
    private record Running(CompletableFuture<List<JobLoop.Outcome>> outcomes, int index) {
    }

    private final String name;
    private final ShareConsumer<String, byte[]> consumer;
    private final JobLoop.Deliverer deliverer;
    private final BooleanSupplier handBack;
    private final JobLoop.Timing timing;
    private final Function<ConsumerRecord<String, byte[]>, Object> batchKey;
    private final Duration renewEvery;
    private final ExecutorService device;
    private final Map<Acquired, Running> running = new HashMap<>();
    private volatile boolean stopping;

    ShareJobLoop(String name, ShareConsumer<String, byte[]> consumer, JobLoop.Deliverer deliverer,
            BooleanSupplier handBack, JobLoop.Timing timing, Function<ConsumerRecord<String, byte[]>, Object> batchKey,
            Duration renewEvery) {
        this.name = name;
        this.consumer = consumer;
        this.deliverer = deliverer;
        this.handBack = handBack;
        this.timing = timing;
        this.batchKey = batchKey;
        this.renewEvery = renewEvery;
        this.device = Executors.newSingleThreadExecutor(r -> new Thread(r, "diffq-device-" + name));
    }

    void stop() {
        stopping = true;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(Topics.JOBS));
            while (!stopping || !running.isEmpty()) {
                ConsumerRecords<String, byte[]> records;
                try {
                    records = consumer.poll(timing.pollTimeout());
                } catch (KafkaException e) {
                    log.warn("{}: {}; trying again in {}", name, e.getMessage(), timing.backOff());
                    pause();
                    continue;
                }
                start(records);
                acknowledge(records);
                if (stopping && records.isEmpty()) {
                    break;
                }
            }
        } finally {
            device.shutdownNow();
            consumer.close();
        }
    }

    /** Starts the records this loop has not seen yet (a renewed record comes back on every poll), in batches. */
    private void start(ConsumerRecords<String, byte[]> records) {
        Map<Object, List<ConsumerRecord<String, byte[]>>> batches = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            if (!running.containsKey(Acquired.of(r))) {
                batches.computeIfAbsent(batchKey.apply(r), k -> new ArrayList<>()).add(r);
            }
        }
        for (List<ConsumerRecord<String, byte[]>> batch : batches.values()) {
            List<JobLoop.Job> jobs = batch.stream()
                    .map(r -> new JobLoop.Job(r, r.deliveryCount().map(Short::intValue).orElse(1))).toList();
            CompletableFuture<List<JobLoop.Outcome>> outcomes = CompletableFuture.supplyAsync(
                    () -> deliverer.deliver(jobs, handBack), device);
            for (int i = 0; i < batch.size(); i++) {
                running.put(Acquired.of(batch.get(i)), new Running(outcomes, i));
            }
        }
    }

    /**
     * Every record of the poll gets its acknowledgement before the next poll (explicit mode): ACCEPT or RELEASE
     * once its job is done, RENEW while it is still running after half a lock.
     */
    private void acknowledge(ConsumerRecords<String, byte[]> records) {
        long renewAt = System.nanoTime() + renewEvery.toNanos();
        for (ConsumerRecord<String, byte[]> r : records) {
            Acquired key = Acquired.of(r);
            AcknowledgeType type = await(running.get(key), renewAt);
            consumer.acknowledge(r, type);
            if (type != AcknowledgeType.RENEW) {
                running.remove(key);
            }
        }
    }

    private AcknowledgeType await(Running job, long until) {
        try {
            JobLoop.Outcome outcome = job.outcomes().get(left(until), TimeUnit.NANOSECONDS).get(job.index());
            if (outcome.handedBack()) {
                stopping = true;
                return AcknowledgeType.RELEASE;
            }
            if (outcome.written() == null) {
                log.info("{}: {}", name, outcome.runAgainBecause());
                return AcknowledgeType.RELEASE;
            }
            outcome.written().get(left(until), TimeUnit.NANOSECONDS);
            return AcknowledgeType.ACCEPT;
        } catch (TimeoutException e) {
            return AcknowledgeType.RENEW;
        } catch (ExecutionException e) {
            log.warn("{}: a job failed to run or to write ({}); released, it runs again", name, e.getCause().toString());
            return AcknowledgeType.RELEASE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
            return AcknowledgeType.RELEASE;
        }
    }

    private static long left(long until) {
        return Math.max(0, until - System.nanoTime());
    }

    private void pause() {
        try {
            Thread.sleep(timing.backOff().toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        }
    }
}
