package io.diffq.system;

import io.diffq.common.job.JobEvent;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads {@code diffq.job-events} from the beginning on its own thread, with a plain consumer and no group,
 * and keeps each job's start, end and worker: the benchmark learns timings without polling the gateway.
 */
final class JobEventsTap implements AutoCloseable {

    /** What the benchmark knows of one job; written by the submitter (createdAt) and by the tap (the rest). */
    static final class Trace {
        final String id;
        volatile Instant createdAt;
        volatile Instant startedAt;
        volatile Instant finishedAt;
        volatile String worker;
        volatile String state;
        volatile int attempt;
        final CompletableFuture<Void> finished = new CompletableFuture<>();

        Trace(String id) {
            this.id = id;
        }
    }

    private final Map<String, Trace> traces = new ConcurrentHashMap<>();
    private final JobCodec codec = new JobCodec();
    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread thread;
    private volatile boolean running = true;

    JobEventsTap(String bootstrapServers) {
        consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.CLIENT_ID_CONFIG, "diffq-bench-events"),
                new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> partitions = consumer.partitionsFor(Topics.JOB_EVENTS, Duration.ofSeconds(30)).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        thread = new Thread(this::run, "diffq-bench-events");
        thread.setDaemon(true);
        thread.start();
    }

    Trace trace(String id) {
        return traces.computeIfAbsent(id, Trace::new);
    }

    /** Waits until every job has a terminal event; false when the timeout passed first. */
    boolean awaitFinished(Collection<Trace> jobs, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Trace t : jobs) {
            try {
                t.finished.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                return false;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return true;
    }

    private void run() {
        while (running) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                if (r.value() != null) {
                    apply(codec.readEvent(r.value()));
                }
            }
        }
        consumer.close(Duration.ofSeconds(2));
    }

    private void apply(JobEvent e) {
        Trace t = trace(e.jobId());
        if (t.finished.isDone()) {
            return; // the first terminal state counts; a second one would be a bug the fault tests catch
        }
        if (e.startedAt() != null) {
            t.startedAt = e.startedAt(); // a redelivered job's later attempt replaces the earlier start
            t.attempt = e.attempt();
            t.worker = e.worker();
        }
        if (e.state().isTerminal()) {
            t.finishedAt = e.at();
            t.state = e.state().name();
            t.worker = e.worker();
            t.finished.complete(null);
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
