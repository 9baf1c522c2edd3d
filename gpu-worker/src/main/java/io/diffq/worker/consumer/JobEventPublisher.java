package io.diffq.worker.consumer;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Headers;
import io.diffq.common.kafka.Topics;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/** Writes job events and results. A failure to write is a {@link KafkaException}: the job is tried again. */
@Component
class JobEventPublisher {

    private static final long ACK_TIMEOUT_SECONDS = 60;

    private final KafkaTemplate<String, byte[]> kafka;
    private final JobCodec codec;

    JobEventPublisher(KafkaTemplate<String, byte[]> kafka, JobCodec codec) {
        this.kafka = kafka;
        this.codec = codec;
    }

    /** Writes the event and waits for the broker's acknowledgement. */
    void publish(JobEvent event) {
        await(kafka.send(Topics.JOB_EVENTS, event.jobId(), codec.writeEvent(event)));
    }

    /** Writes the event without waiting (progress reports); order per job is kept by the idempotent producer. */
    void publishAsync(JobEvent event) {
        kafka.send(Topics.JOB_EVENTS, event.jobId(), codec.writeEvent(event));
    }

    /** Writes the image and returns where it lies. */
    ResultRef publishResult(JobRequest request, String model, byte[] png) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.RESULTS, request.id(), png);
        record.headers()
                .add(Headers.CONTENT_TYPE, bytes("image/png"))
                .add(Headers.WIDTH, bytes(String.valueOf(request.width())))
                .add(Headers.HEIGHT, bytes(String.valueOf(request.height())))
                .add(Headers.MODEL, bytes(model));
        RecordMetadata md = await(kafka.send(record)).getRecordMetadata();
        return new ResultRef(md.partition(), md.offset(), "image/png", png.length);
    }

    /** Sends a failed or malformed request to the dead-letter topic, with the failure as JSON. */
    void deadLetter(String key, byte[] value, byte[] failureJson) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.JOBS_DLT, key, value);
        record.headers().add(Headers.FAILURE, failureJson);
        await(kafka.send(record));
    }

    private static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(ACK_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted while waiting for the broker", e);
        } catch (ExecutionException e) {
            throw new KafkaException("the broker did not take the record", e.getCause());
        } catch (TimeoutException e) {
            throw new KafkaException("no acknowledgement from the broker in " + ACK_TIMEOUT_SECONDS + " s", e);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

}
