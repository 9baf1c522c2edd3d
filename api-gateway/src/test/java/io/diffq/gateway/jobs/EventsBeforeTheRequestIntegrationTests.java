package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.TestProducers;
import io.diffq.kafka.JobKeys;
import io.diffq.testing.KafkaBrokerExtension;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The gateway that accepted a job may read the job's events before its request record (the topics are read in no
 * fixed order): the job then finishes, and leaves the heap for the status store, while the request it shows is
 * only the one this gateway holds from the submit. The store must keep that request: a finished job shows its
 * owner and acceptance time, before and after a restart (the suite's fault campaign and its queue-overhead test
 * saw finished jobs without them). The order is made certain as in {@link RetryBeforeTheRequestIsReadIntegrationTests}:
 * an open transaction on {@code diffq.jobs} holds the request from the read-committed status view.
 */
class EventsBeforeTheRequestIntegrationTests {

    private static final String BODY = "{\"prompt\":\"a lighthouse at dusk\",\"model\":\"simulated\",\"seed\":5}";
    private static final int PARTITIONS = 3;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    private final JobCodec codec = new JobCodec();

    @Test
    void aJobThisGatewayAcceptedAndSawFinishBeforeReadingItsRequestShowsItsRequestThenAndAfterARestart()
            throws Exception {
        String[] settings = settings();
        String id;
        try (KafkaProducer<String, byte[]> holder = producer("hold-diffq-jobs");
                KafkaProducer<String, byte[]> other = producer(null)) {
            try (Gateway gateway = Gateway.start(kafka.bootstrapServers(), settings)) {
                // The gateway created the topics; from here its request is held from the status view.
                holder.initTransactions();
                holder.beginTransaction();
                holder.send(new ProducerRecord<>(Topics.JOBS, "held", new byte[] {'{', '}'})).get();
                Api.Response submitted = submit(gateway.api());
                assertThat(submitted.status()).as(submitted.text()).isEqualTo(202);
                id = submitted.json().get("id").asString();
                finish(other, id);
                await().atMost(Duration.ofSeconds(30)).until(() -> gateway.statusViewDetail("recordsRead") == 2);
                assertShowsItsRequest(gateway.api(), id);
            }
            // Restarted on its store while the request is still held from it: only the store can show it.
            try (Gateway restarted = Gateway.start(kafka.bootstrapServers(), settings)) {
                assertShowsItsRequest(restarted.api(), id);
                holder.commitTransaction();
                await().atMost(Duration.ofSeconds(30)).until(() -> restarted.statusViewDetail("recordsRead") == 2);
                assertShowsItsRequest(restarted.api(), id);
            }
        }
    }

    private String[] settings() {
        return new String[] {Gateway.SERVED_MODELS, "diffq.gateway.security.rate-limit.enabled=false",
                "diffq.gateway.status.dir=" + dir.resolve("status")};
    }

    private static void assertShowsItsRequest(Api api, String id) {
        JsonNode job = api.get("/v1/jobs/" + id).json();
        assertThat(job.get("state").asString()).as(job.toString()).isEqualTo("SUCCEEDED");
        assertThat(job.path("createdAt").isString()).as(job.toString()).isTrue();
        assertThat(job.path("request").path("prompt").asString("")).as(job.toString())
                .isEqualTo("a lighthouse at dusk");
    }

    /** A worker's run of the job, as it writes it. */
    private void finish(KafkaProducer<String, byte[]> producer, String id) throws Exception {
        Instant now = Instant.now();
        for (JobEvent e : List.of(JobEvent.running(id, 1, now, "worker-1/cpu", "simulated", new Progress(0, 4), now),
                JobEvent.succeeded(id, 1, now, "worker-1/cpu", "simulated", new Progress(4, 4), 40,
                        new ResultRef(0, 0, "image/png", 10), now.plusMillis(40)))) {
            producer.send(new ProducerRecord<>(Topics.JOB_EVENTS, JobKeys.partition(id, PARTITIONS), JobKeys.event(e),
                    codec.writeEvent(e))).get();
        }
    }

    private static Api.Response submit(Api api) {
        return api.send(HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(BODY)));
    }

    private static KafkaProducer<String, byte[]> producer(String transactionalId) {
        return TestProducers.of(kafka.bootstrapServers(), transactionalId);
    }
}
