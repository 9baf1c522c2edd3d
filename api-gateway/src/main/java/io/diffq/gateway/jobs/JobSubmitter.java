package io.diffq.gateway.jobs;

import io.diffq.common.job.JobControl;
import io.diffq.common.job.JobRequest;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.common.metrics.MetricNames;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.kafka.KafkaUnavailableException;
import io.diffq.gateway.status.JobStatusView;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Service;

/**
 * Writes a job to {@code diffq.jobs} and returns only once the broker acknowledged it (acks=all), so a
 * job id handed to a client always names a stored job.
 */
@Service
public class JobSubmitter {

    /** The outcomes of a submission, as the {@code outcome} tag of {@code diffq.jobs.submitted}. */
    public static final List<String> OUTCOMES = List.of("accepted", "invalid", "priority-not-allowed", "overloaded",
            "quota-exceeded", "unavailable");

    private final KafkaTemplate<String, byte[]> kafka;
    private final JobCodec codec;
    private final JobStatusView view;
    private final GatewayProperties properties;
    private final Map<String, Counter> outcomes = new HashMap<>();

    public JobSubmitter(KafkaTemplate<String, byte[]> kafka, JobCodec codec, JobStatusView view,
            GatewayProperties properties, MeterRegistry meters) {
        this.kafka = kafka;
        this.codec = codec;
        this.view = view;
        this.properties = properties;
        // Registered up front, so that rates start from zero instead of appearing with the first event.
        for (String outcome : OUTCOMES) {
            outcomes.put(outcome, Counter.builder(MetricNames.JOBS_SUBMITTED)
                    .description("Job submissions by outcome")
                    .tag(MetricNames.TAG_OUTCOME, outcome)
                    .register(meters));
        }
    }

    /**
     * Stores the job durably.
     *
     * @return where it was stored in {@code diffq.jobs}
     * @throws KafkaUnavailableException when the broker did not acknowledge within the submit timeout
     */
    public RecordMetadata submit(JobRequest request) {
        RecordMetadata stored;
        try {
            stored = store(new ProducerRecord<>(Topics.JOBS, request.id(), codec.writeRequest(request)));
        } catch (KafkaUnavailableException e) {
            count("unavailable");
            throw e;
        }
        count("accepted");
        view.accepted(request, stored.partition(), stored.offset());
        return stored;
    }

    /**
     * Stores a cancel request for the job; the worker that has or gets the job honours it.
     *
     * @throws KafkaUnavailableException when the broker did not acknowledge within the submit timeout
     */
    public void cancel(JobControl control) {
        store(new ProducerRecord<>(Topics.JOB_CONTROLS, control.jobId(), codec.writeControl(control)));
        view.cancelRequested(control);
    }

    private RecordMetadata store(ProducerRecord<String, byte[]> record) {
        try {
            return kafka.send(record).get(properties.submitTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .getRecordMetadata();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable(e);
        } catch (ExecutionException | TimeoutException | KafkaException
                | org.springframework.kafka.KafkaException e) {
            // Spring's KafkaException wraps a send that failed before it was queued (no metadata within max.block.ms).
            throw unavailable(e);
        }
    }

    /** Counts a submission by its outcome: one of {@link #OUTCOMES}. */
    public void count(String outcome) {
        outcomes.get(outcome).increment();
    }

    private static KafkaUnavailableException unavailable(Exception e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        return new KafkaUnavailableException("Kafka did not acknowledge the record: " + cause.getClass().getSimpleName(),
                cause);
    }
}
