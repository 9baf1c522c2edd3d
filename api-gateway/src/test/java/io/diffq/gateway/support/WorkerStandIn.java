package io.diffq.gateway.support;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobFailure;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.ModelCard;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes to the topics what a worker writes, so the gateway can be tested alone against a real broker.
 * The real worker is tested end to end in the infra module.
 */
public final class WorkerStandIn implements AutoCloseable {

    private final KafkaProducer<String, byte[]> producer;
    private final JobCodec codec = new JobCodec();

    public WorkerStandIn(String bootstrapServers) {
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new ByteArraySerializer());
    }

    public void succeed(String jobId, byte[] png) {
        Instant start = Instant.now();
        event(JobEvent.running(jobId, 1, start, "stand-in", "simulated", new Progress(0, 4), start));
        RecordMetadata md = send(new ProducerRecord<>(Topics.RESULTS, jobId, png));
        event(JobEvent.succeeded(jobId, 1, start, "stand-in", "simulated", new Progress(4, 4), 5,
                new ResultRef(md.partition(), md.offset(), "image/png", png.length), Instant.now()));
    }

    public void fail(String jobId, String message) {
        Instant start = Instant.now();
        event(JobEvent.running(jobId, 1, start, "stand-in", "simulated", new Progress(0, 4), start));
        event(JobEvent.failed(jobId, 1, start, "stand-in", "simulated", new Progress(1, 4), 3L,
                JobFailure.fatal("model-error", message), Instant.now()));
    }

    /**
     * Reports a running job's progress after each of {@code steps} denoising steps, one acknowledged event at
     * a time, as a worker that reports every step does.
     */
    public void progress(String jobId, int steps) {
        Instant start = Instant.now();
        for (int i = 0; i <= steps; i++) {
            event(JobEvent.running(jobId, 1, start, "stand-in", "simulated", new Progress(i, steps), Instant.now()));
        }
    }

    /** Advertises a model, as a worker does once it has opened it. */
    public void advertise(ModelCard card) {
        send(new ProducerRecord<>(Topics.MODELS, card.name(), codec.writeModelCard(card)));
    }

    /** Removes a model from the catalog: a tombstone under its name. */
    public void withdraw(String model) {
        send(new ProducerRecord<>(Topics.MODELS, model, null));
    }

    public void event(JobEvent e) {
        send(new ProducerRecord<>(Topics.JOB_EVENTS, e.jobId(), codec.writeEvent(e)));
    }

    private RecordMetadata send(ProducerRecord<String, byte[]> record) {
        try {
            return producer.send(record).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
