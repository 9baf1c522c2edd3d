package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.Progress;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.gateway.ApiClient;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.TestProducers;
import io.diffq.testing.KafkaBrokerExtension;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A gateway still replaying the topics (just restarted) may know a job from its events before it has read the
 * job's request: it reads {@code diffq.jobs} and {@code diffq.job-events} in no fixed order. A client's retry
 * of the job's own body with the same {@code Idempotency-Key} reaching it then is the same job, not a
 * {@code 422} (fault campaign, seed 2: key {@code client-a/shared-2-2-62}).
 *
 * <p>The order is made certain with the isolation the status view reads with: an open transaction on
 * {@code diffq.jobs} holds every later record of the partition, the job's request among them, from
 * read-committed readers until it ends.
 */
class RetryBeforeTheRequestIsReadIntegrationTests {

    private static final String SECRET = "retry-before-the-request-is-read-test-secret";
    private static final String BODY = "{\"prompt\":\"a lighthouse at dusk\",\"model\":\"simulated\",\"seed\":5}";
    private static final Pattern ACTIVE_SUBMITS = Pattern.compile(
            "(?m)^http_server_requests_active_seconds_gcount\\{[^}]*method=\"POST\"[^}]*} (\\S+)$");

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @Test
    void aRetryOfTheJobsOwnBodyWaitsForItsRequestInsteadOfAnswering422() throws Exception {
        String key = "retry-" + System.nanoTime();
        String id = JobIds.withSecret(SECRET).idempotent(ApiClient.ANONYMOUS, key);
        try (Gateway gateway = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.enabled=false", "diffq.gateway.job-id-secret=" + SECRET,
                "diffq.gateway.read-your-writes-timeout=20s");
                KafkaProducer<String, byte[]> holder = producer("hold-diffq-jobs");
                KafkaProducer<String, byte[]> other = producer(null)) {
            // The request another gateway stored for the key: the same body, so the same fingerprint. Taken from
            // a submit under another key here, as the record's bytes are the gateway's to write.
            Api.Response model = submit(gateway.api(), key + "-model");
            assertThat(model.status()).as(model.text()).isEqualTo(202);
            String modelId = model.json().get("id").asString();
            byte[] request = new String(firstRecordOfJobs(), StandardCharsets.UTF_8).replace(modelId, id)
                    .getBytes(StandardCharsets.UTF_8);

            holder.initTransactions();
            holder.beginTransaction();
            holder.send(new ProducerRecord<>(Topics.JOBS, "held", new byte[] {'{', '}'})).get();
            // Stored behind the open transaction: no read-committed reader reaches it until the transaction ends.
            other.send(new ProducerRecord<>(Topics.JOBS, id, request)).get();
            // A worker already took the job: the gateway learns of it from this event alone.
            Instant now = Instant.now();
            other.send(new ProducerRecord<>(Topics.JOB_EVENTS, id, new JobCodec().writeEvent(
                    JobEvent.running(id, 1, now, "worker-1/cpu", "simulated", new Progress(0, 8), now)))).get();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                Api.Response shown = gateway.api().get("/v1/jobs/" + id);
                return shown.status() == 200 && "RUNNING".equals(shown.json().get("state").asString());
            });

            CompletableFuture<Api.Response> retry = CompletableFuture.supplyAsync(() -> submit(gateway.api(), key));
            await().atMost(Duration.ofSeconds(15)).until(() -> activeSubmits(gateway) >= 1);
            holder.commitTransaction();

            Api.Response answer = retry.get();
            assertThat(answer.status()).as(answer.text()).isEqualTo(202);
            assertThat(answer.json().get("id").asString()).isEqualTo(id);
            assertThat(answer.headers().firstValue("Idempotency-Replayed")).hasValue("true");
        }
    }

    private static Api.Response submit(Api api, String key) {
        return api.send(HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .header(JobRequestParser.IDEMPOTENCY_HEADER, key)
                .POST(HttpRequest.BodyPublishers.ofString(BODY)));
    }

    /** Submits the gateway is answering right now, from its own metrics (the only POSTs of this test). */
    private static double activeSubmits(Gateway gateway) {
        Matcher m = ACTIVE_SUBMITS.matcher(gateway.managementApi().get("/actuator/prometheus").text());
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    /** The value of the first record of {@code diffq.jobs} (one partition). */
    private static byte[] firstRecordOfJobs() {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()), new StringDeserializer(),
                new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(Topics.JOBS, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    return r.value();
                }
            }
            throw new AssertionError("nothing on " + tp);
        }
    }

    private static KafkaProducer<String, byte[]> producer(String transactionalId) {
        return TestProducers.of(kafka.bootstrapServers(), transactionalId);
    }
}
