package io.diffq.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobFailure;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.gateway.support.Api;
import io.diffq.kafka.JobKeys;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Job histories as real jobs write them to the topics, and how a gateway shows a job, for the status tests. */
final class JobStories {

    /** The fields of a job's view that its history decides (timings that run on with the clock left out). */
    private static final List<String> COMPARED = List.of("state", "attempt", "model", "progress", "createdAt",
            "startedAt", "finishedAt", "error", "request", "links");
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final JobCodec CODEC = new JobCodec();

    private JobStories() {
    }

    /** What a real job of each kind writes to {@code diffq.job-events}, in order, and the state it ends in. */
    enum Story {
        WAITING("QUEUED"),
        SUCCEEDED("SUCCEEDED"),
        FAILED("FAILED"),
        CANCELED_WHILE_RUNNING("CANCELED"),
        CANCELED_BEFORE_START("CANCELED"),
        EXPIRED("EXPIRED"),
        SUCCEEDED_ON_REDELIVERY("SUCCEEDED"),
        RUNNING_AGAIN("RUNNING"),
        /** Attempt 1's worker, paused past its lock, wrote a progress event after attempt 2 had finished. */
        LATE_WRITE_OF_A_LOST_ATTEMPT("SUCCEEDED"),
        /** The same worker's late CANCELED landed while attempt 2 was running, between its start and its end. */
        LATE_END_WHILE_THE_NEXT_ATTEMPT_RUNS("SUCCEEDED");

        final String state;

        Story(String state) {
            this.state = state;
        }

        List<JobEvent> events(String id, Instant t) {
            Instant s1 = t.plusSeconds(1);
            Instant s2 = t.plusSeconds(30);
            return switch (this) {
                case WAITING -> List.of();
                case SUCCEEDED -> List.of(running(id, 1, s1, 0), running(id, 1, s1, 2),
                        JobEvent.succeeded(id, 1, s1, "w1", "simulated", new Progress(4, 4), 900,
                                new ResultRef(0, 7, "image/png", 100), s1.plusSeconds(2)));
                case FAILED -> List.of(running(id, 1, s1, 0), running(id, 1, s1, 1),
                        JobEvent.failed(id, 1, s1, "w1", "simulated", new Progress(1, 4), 400L,
                                JobFailure.fatal("model-error", "boom"), s1.plusSeconds(2)));
                case CANCELED_WHILE_RUNNING -> List.of(running(id, 1, s1, 0), running(id, 1, s1, 2),
                        JobEvent.canceled(id, 1, s1, "w1", "simulated", new Progress(2, 4), s1.plusSeconds(2)));
                case CANCELED_BEFORE_START -> List.of(JobEvent.canceled(id, 1, s1, "w1", "simulated", s1));
                case EXPIRED -> List.of(JobEvent.expired(id, "w1", "simulated", s1));
                case SUCCEEDED_ON_REDELIVERY -> List.of(running(id, 1, s1, 0), running(id, 2, s2, 0),
                        running(id, 2, s2, 3), JobEvent.succeeded(id, 2, s2, "w2", "simulated", new Progress(4, 4),
                                800, new ResultRef(1, 9, "image/png", 100), s2.plusSeconds(2)));
                case RUNNING_AGAIN -> List.of(running(id, 1, s1, 0), running(id, 1, s1, 1), running(id, 2, s2, 0),
                        running(id, 2, s2, 2));
                case LATE_WRITE_OF_A_LOST_ATTEMPT -> List.of(running(id, 1, s1, 0), running(id, 2, s2, 0),
                        JobEvent.succeeded(id, 2, s2, "w2", "simulated", new Progress(4, 4), 800,
                                new ResultRef(1, 11, "image/png", 100), s2.plusSeconds(2)),
                        running(id, 1, s1, 1));
                case LATE_END_WHILE_THE_NEXT_ATTEMPT_RUNS -> List.of(running(id, 1, s1, 0), running(id, 2, s2, 0),
                        JobEvent.canceled(id, 1, s1, "w1", "simulated", new Progress(1, 4), s2.plusSeconds(1)),
                        running(id, 2, s2, 2), JobEvent.succeeded(id, 2, s2, "w2", "simulated", new Progress(4, 4),
                                800, new ResultRef(1, 13, "image/png", 100), s2.plusSeconds(3)));
            };
        }

        private static JobEvent running(String id, int attempt, Instant startedAt, int step) {
            return JobEvent.running(id, attempt, startedAt, "w" + attempt, "simulated", new Progress(step, 4),
                    startedAt.plusMillis(100L * step));
        }
    }

    /** Every record of each story: the request on {@code diffq.jobs}, the events keyed and placed as a worker writes them. */
    static void writeEveryRecord(KafkaProducer<String, byte[]> producer, Map<String, Story> stories, int partitions) {
        write(producer, stories, partitions, Instant.now(), false);
    }

    /**
     * As {@link #writeEveryRecord(KafkaProducer, Map, int)}, the jobs submitted at {@code t} and each record
     * stamped with the time it would have been written (the request at {@code t}, an event at its own time).
     */
    static void writeEveryRecordAsOf(KafkaProducer<String, byte[]> producer, Map<String, Story> stories, int partitions,
            Instant t) {
        write(producer, stories, partitions, t, true);
    }

    private static void write(KafkaProducer<String, byte[]> producer, Map<String, Story> stories, int partitions,
            Instant t, boolean stamped) {
        stories.forEach((id, story) -> {
            JobRequest request = new JobRequest(id, "job " + id, "", 32, 32, 4, 7.5, 42, "simulated", null, t,
                    null, null);
            producer.send(new ProducerRecord<>(Topics.JOBS, null, stamped ? t.toEpochMilli() : null, id,
                    CODEC.writeRequest(request)));
            // Keyed and placed as the worker writes them.
            story.events(id, t).forEach(e -> producer.send(new ProducerRecord<>(Topics.JOB_EVENTS,
                    JobKeys.partition(id, partitions), stamped ? e.at().toEpochMilli() : null, JobKeys.event(e),
                    CODEC.writeEvent(e))));
        });
        producer.flush();
    }

    /** The fields of a job's view that its history decides, as the API shows them. */
    static JsonNode shown(Api api, String id) {
        Api.Response r = api.get("/v1/jobs/" + id);
        assertThat(r.status()).as(id).isEqualTo(200);
        JsonNode job = r.json();
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        COMPARED.forEach(f -> fields.put(f, job.get(f)));
        fields.put("inferenceMs", job.get("timings").get("inferenceMs"));
        return JSON.valueToTree(fields);
    }

    /**
     * One request in flight: the topics may be seconds old, and an idempotent producer whose first batch to a
     * partition got {@code NOT_LEADER_OR_FOLLOWER} while the next was in flight retried that one with
     * {@code OUT_OF_ORDER_SEQUENCE_NUMBER} for over a minute (seen once in CI, kafka-clients 4.3.1).
     */
    static KafkaProducer<String, byte[]> producer(String brokers) {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers,
                ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.LINGER_MS_CONFIG, 5,
                ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1),
                new StringSerializer(), new ByteArraySerializer());
    }
}
