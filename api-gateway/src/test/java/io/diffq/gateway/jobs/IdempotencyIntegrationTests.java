package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.testing.KafkaBrokerExtension;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Concurrent submits with one {@code Idempotency-Key}, spread over two gateway instances, create one job:
 * one {@code 202} that is not a replay, a replay for every identical body, {@code 422} for every different
 * one, and every instance (also one started afterwards) shows the same request: the first record for the
 * id in its partition, which is also the one workers run (issue 11, defect 2).
 */
@Tag("abuse")
class IdempotencyIntegrationTests {

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    private static Gateway a;
    private static Gateway b;

    @BeforeAll
    static void start() {
        a = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.enabled=false");
        b = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.enabled=false");
    }

    @AfterAll
    static void stop() {
        a.close();
        b.close();
    }

    @Test
    void identicalConcurrentSubmitsWithOneKeyCreateOneJobAndReplayIt() throws Exception {
        String key = "same-" + UUID.randomUUID();
        List<Api.Response> answers = submitAtOnce(20, key, i -> "{\"prompt\":\"one cat\",\"seed\":7}");

        assertThat(answers).extracting(Api.Response::status).containsOnly(202);
        assertThat(answers).extracting(r -> r.json().get("id").asString()).containsOnly(
                answers.get(0).json().get("id").asString());
        assertThat(answers.stream().filter(r -> "false".equals(replayed(r))).count())
                .as("answers that created the job").isOne();
        assertThat(answers.stream().filter(r -> "true".equals(replayed(r))).count()).isEqualTo(19);
    }

    @Test
    void differentConcurrentBodiesWithOneKeyGetOne202AndTheRest422AndEveryInstanceShowsThatOne() throws Exception {
        String key = "different-" + UUID.randomUUID();
        List<Api.Response> answers = submitAtOnce(40, key, i -> "{\"prompt\":\"body " + i + "\",\"seed\":" + i + "}");

        List<Api.Response> created = answers.stream().filter(r -> r.status() == 202).toList();
        assertThat(created).as("answers that created the job").hasSize(1);
        assertThat(replayed(created.get(0))).isEqualTo("false");
        assertThat(answers.stream().filter(r -> r.status() == 422).count()).isEqualTo(39);
        answers.stream().filter(r -> r.status() == 422).forEach(r -> assertThat(r.json().get("type").asString())
                .isEqualTo("https://diffq.io/problems/idempotency-key-reused"));

        String id = created.get(0).json().get("id").asString();
        int seed = seedOf(a.api(), id);
        assertThat(seedOf(b.api(), id)).isEqualTo(seed);
        // The request that won is the first record for the id in its partition: what the workers run.
        assertThat(firstRecordSeed(id)).isEqualTo(seed);
        // A gateway started afterwards rebuilds the same answer from the topic.
        try (Gateway c = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS)) {
            assertThat(seedOf(c.api(), id)).isEqualTo(seed);
        }
        // A retry of the winning body is a replay; any other body still a conflict.
        assertThat(replayed(submit(a.api(), key, "{\"prompt\":\"body " + seed + "\",\"seed\":" + seed + "}")))
                .isEqualTo("true");
        assertThat(submit(b.api(), key, "{\"prompt\":\"body x\",\"seed\":" + (seed + 1) + "}").status())
                .isEqualTo(422);
    }

    /** {@code n} submits released at once, alternating between the two instances. */
    private static List<Api.Response> submitAtOnce(int n, String key, IntFunction<String> body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Api.Response>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Api api = (i % 2 == 0 ? a : b).api();
                String json = body.apply(i);
                futures.add(pool.submit(() -> {
                    go.await();
                    return submit(api, key, json);
                }));
            }
            go.countDown();
            List<Api.Response> answers = new ArrayList<>();
            for (Future<Api.Response> f : futures) {
                answers.add(f.get());
            }
            return answers;
        } finally {
            pool.shutdownNow();
        }
    }

    private static Api.Response submit(Api api, String key, String json) {
        return api.send(HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    private static String replayed(Api.Response r) {
        return r.headers().firstValue("Idempotency-Replayed").orElse("");
    }

    private static int seedOf(Api api, String id) {
        Api.Response r = api.get("/v1/jobs/" + id);
        assertThat(r.status()).isEqualTo(200);
        return r.json().get("request").get("seed").asInt();
    }

    /** The seed of the first record for {@code id} in {@code diffq.jobs}, read with a plain consumer. */
    private static int firstRecordSeed(String id) {
        JobCodec codec = new JobCodec();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo p : c.partitionsFor(Topics.JOBS)) {
                tps.add(new TopicPartition(Topics.JOBS, p.partition()));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> ends = c.endOffsets(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (System.nanoTime() < deadline && tps.stream().anyMatch(tp -> c.position(tp) < ends.get(tp))) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (id.equals(r.key())) {
                        return (int) codec.readRequest(r.value()).seed();
                    }
                }
            }
        }
        throw new AssertionError("no record for " + id);
    }
}
