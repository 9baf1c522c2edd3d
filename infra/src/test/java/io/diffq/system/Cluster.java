package io.diffq.system;

import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.testing.KafkaBrokerProcess;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import tools.jackson.databind.JsonNode;

/**
 * A broker (or a cluster of them), gateways and workers as separate processes, for fault tests; closes what
 * it started.
 */
final class Cluster implements AutoCloseable {

    private final Path dir;
    private final List<KafkaBrokerProcess> brokers;
    private final List<ServiceProcess> processes = Collections.synchronizedList(new ArrayList<>());
    private final JobCodec codec = new JobCodec();
    private final AtomicInteger names = new AtomicInteger();

    Cluster(Path dir) {
        this.dir = dir;
        this.brokers = List.of(KafkaBrokerProcess.start(dir.resolve("kafka")));
    }

    /** With a KRaft cluster of {@code brokers} nodes instead of one broker. */
    Cluster(Path dir, int brokers) {
        this.dir = dir;
        this.brokers = KafkaBrokerProcess.startCluster(dir.resolve("kafka"), brokers);
    }

    /** The broker (the first node of a cluster). */
    KafkaBrokerProcess broker() {
        return brokers.get(0);
    }

    List<KafkaBrokerProcess> brokers() {
        return brokers;
    }

    /** Every node's address: what the services and the tests' clients bootstrap from. */
    String bootstrapServers() {
        return KafkaBrokerProcess.bootstrapServers(brokers);
    }

    /** Starts a gateway and returns its API client. */
    Http gateway(String... args) {
        int port = KafkaBrokerProcess.freePort();
        processes.add(ServiceProcess.gateway(dir, "gateway-" + names.incrementAndGet(), bootstrapServers(),
                port, KafkaBrokerProcess.freePort(), args));
        return new Http(port);
    }

    /** Starts a gateway process and returns it with its port, for tests that stop it. */
    ServiceProcess gatewayProcess(int port, String... args) {
        ServiceProcess p = ServiceProcess.gateway(dir, "gateway-" + names.incrementAndGet(),
                bootstrapServers(), port, KafkaBrokerProcess.freePort(), args);
        processes.add(p);
        return p;
    }

    /**
     * Starts a gateway process without waiting for it to be healthy ({@link ServiceProcess#launchGateway}); it is
     * stopped with the cluster unless stopped before.
     */
    ServiceProcess launchGateway(String name, int port, String... args) {
        return launchGateway(name, port, List.of(), args);
    }

    /** As above, with JVM options. */
    ServiceProcess launchGateway(String name, int port, List<String> jvmOptions, String... args) {
        ServiceProcess p = ServiceProcess.launchGateway(dir, name, bootstrapServers(), port,
                KafkaBrokerProcess.freePort(), jvmOptions, args);
        processes.add(p);
        return p;
    }

    /** Starts a worker; several threads may start workers at once. */
    ServiceProcess worker(String... args) {
        String name = "worker-" + names.incrementAndGet();
        ServiceProcess p = ServiceProcess.worker(dir, name, bootstrapServers(), KafkaBrokerProcess.freePort(), args);
        processes.add(p);
        return p;
    }

    /** Starts a worker whose PyTorch uses {@code torchThreads} threads. */
    ServiceProcess worker(int torchThreads, String... args) {
        String name = "worker-" + names.incrementAndGet();
        ServiceProcess p = ServiceProcess.worker(dir, name, bootstrapServers(), KafkaBrokerProcess.freePort(),
                torchThreads, args);
        processes.add(p);
        return p;
    }

    static String submit(Http api, String json) {
        HttpResponse<byte[]> r = api.post("/v1/jobs", json);
        if (r.statusCode() != 202) {
            throw new AssertionError("submit answered " + r.statusCode() + ": " + new String(r.body()));
        }
        return Http.json(r).get("id").asString();
    }

    static JsonNode status(Http api, String id) {
        return api.getJson("/v1/jobs/" + id);
    }

    static void awaitState(Http api, String id, String state, Duration timeout) {
        await().atMost(timeout).pollInterval(Duration.ofMillis(300))
                .until(() -> state.equals(status(api, id).get("state").asString()));
    }

    /** Every event on {@code diffq.job-events} so far, per job, in order. */
    Map<String, List<JobEvent>> events() {
        Map<String, List<JobEvent>> events = new LinkedHashMap<>();
        readAll(Topics.JOB_EVENTS,
                r -> {
                    JobEvent e = codec.readEvent(r.value());
                    events.computeIfAbsent(e.jobId(), k -> new ArrayList<>()).add(e);
                });
        return events;
    }

    /** Keys on {@code diffq.jobs.dlt}. */
    List<String> deadLettered() {
        List<String> keys = new ArrayList<>();
        readAll(Topics.JOBS_DLT, r -> keys.add(r.key()));
        return keys;
    }

    /** Reads the topic from the start until it has been quiet for a while. */
    private void readAll(String topic, java.util.function.Consumer<ConsumerRecord<String, byte[]>> handler) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(),
                new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic));
            int empty = 0;
            while (empty < 5) {
                var records = c.poll(Duration.ofMillis(500));
                empty = records.isEmpty() ? empty + 1 : 0;
                records.forEach(handler);
            }
        }
    }

    @Override
    public void close() {
        for (int i = processes.size() - 1; i >= 0; i--) {
            processes.get(i).kill();
        }
        brokers.forEach(KafkaBrokerProcess::close);
    }
}
