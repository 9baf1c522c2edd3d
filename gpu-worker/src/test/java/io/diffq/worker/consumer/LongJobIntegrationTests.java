package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.kafka.Topics;
import io.diffq.testing.KafkaBrokerExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The share-group loop with the real Kafka consumer on a real broker, while a job runs longer than a renewal
 * period: the loop renews its lock, and a renewal must not acquire the next job for this busy worker (the
 * consumer sends a share fetch with any poll made while a renewal is unanswered), where it would wait, locked,
 * while another worker idles, and come back to that worker only when the lock ran out, one delivery more.
 */
class LongJobIntegrationTests {

    @RegisterExtension
    static final KafkaBrokerExtension kafka = WorkerKafka.broker(1);

    private static final Duration WAIT = Duration.ofSeconds(60);

    /** One worker's loop, with what it ran. */
    private final class Worker {

        final String name;
        final AtomicInteger renewals = new AtomicInteger();
        final JobLoop loop;
        final Thread thread;

        Worker(String name) {
            this.name = name;
            Map<String, Object> config = new HashMap<>();
            config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            config.put(ConsumerConfig.CLIENT_ID_CONFIG, name);
            config.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
            config.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
            config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
            config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 1000);
            // The real consumer, counting the renewals the loop gives it.
            KafkaShareConsumer<String, byte[]> consumer = new KafkaShareConsumer<>(config, new StringDeserializer(),
                    new ByteArrayDeserializer()) {
                @Override
                public void acknowledge(ConsumerRecord<String, byte[]> record, AcknowledgeType type) {
                    super.acknowledge(record, type);
                    if (type == AcknowledgeType.RENEW) {
                        renewals.incrementAndGet();
                    }
                }
            };
            loop = new JobLoop(name, consumer, admission, this::deliver, () -> false,
                    new JobLoop.Timing(Duration.ofMillis(250), Duration.ofSeconds(1), Duration.ofMillis(500)), 1,
                    r -> r.key(), 5, System::nanoTime);
            thread = new Thread(loop, "loop-" + name);
            thread.start();
        }

        private List<JobLoop.Outcome> deliver(List<JobLoop.Job> jobs, java.util.function.BooleanSupplier handBack) {
            List<JobLoop.Outcome> out = new ArrayList<>();
            for (JobLoop.Job job : jobs) {
                String key = job.record().key();
                ran.add(key + " by " + name + ", delivery " + job.record().deliveryCount().orElse((short) 0));
                CompletableFuture<Void> written = key.startsWith("long") ? longJob : CompletableFuture.completedFuture(null);
                out.add(JobLoop.Outcome.written(written));
            }
            return out;
        }

        void stop() throws InterruptedException {
            loop.stop();
            thread.join(WAIT.toMillis());
        }
    }

    /** A share group of this test's own, from the oldest record: the jobs of earlier tests run too, at once. */
    private final String group = "long-jobs-" + UUID.randomUUID();
    private final String id = UUID.randomUUID().toString().substring(0, 8);
    private final List<String> ran = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Void> longJob = new CompletableFuture<>();
    private final List<Worker> workers = new ArrayList<>();

    private final JobLoop.Admission admission = new JobLoop.Admission() {
        @Override
        public JobLoop.Admitted admit(ConsumerRecord<String, byte[]> record, int delivery) {
            return JobLoop.Admitted.run(delivery);
        }

        @Override
        public CompletableFuture<Void> handBack(ConsumerRecord<String, byte[]> record, int delivery, int attempt) {
            ran.add(record.key() + " handed back");
            return CompletableFuture.completedFuture(null);
        }
    };

    @AfterEach
    void stop() throws InterruptedException {
        longJob.complete(null);
        for (Worker w : workers) {
            w.stop();
        }
    }

    @Test
    void aWorkerBusyWithALongJobLeavesTheNextJobToAnIdleWorker() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, group),
                    List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"),
                            AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        }
        Worker busy = worker("busy");
        send("long-" + id);
        await().atMost(WAIT).until(() -> ran.contains("long-" + id + " by busy, delivery 1"));
        await().atMost(WAIT).until(() -> busy.renewals.get() >= 1);

        send("next-" + id);
        // Two renewals after the next job is on the topic: each was a poll a share fetch could go with.
        int renewed = busy.renewals.get();
        await().atMost(WAIT).until(() -> busy.renewals.get() >= renewed + 2);
        worker("idle");
        await().atMost(WAIT).until(() -> ran.stream().anyMatch(r -> r.startsWith("next-" + id)));

        longJob.complete(null);
        busy.stop();
        assertThat(ran).filteredOn(r -> r.contains(id)).containsExactly("long-" + id + " by busy, delivery 1",
                "next-" + id + " by idle, delivery 1");
    }

    private Worker worker(String name) {
        Worker w = new Worker(name);
        workers.add(w);
        return w;
    }

    private void send(String key) throws Exception {
        try (KafkaProducer<String, byte[]> producer = WorkerKafka.producer(kafka.bootstrapServers(), Map.of())) {
            producer.send(new ProducerRecord<>(Topics.JOBS, key, key.getBytes())).get(10, TimeUnit.SECONDS);
        }
    }
}
