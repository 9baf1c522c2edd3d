package io.diffq.worker.consumer;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Headers;
import io.diffq.common.kafka.Topics;
import io.diffq.kafka.JobKeys;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/**
 * Writes job events and results without waiting: each write's future completes when the broker has it, or
 * fails (then the job is run again). The producer's delivery timeout bounds how long that takes.
 */
@Component
class JobEventPublisher {

    private final KafkaTemplate<String, byte[]> kafka;
    private final JobCodec codec;

    JobEventPublisher(KafkaTemplate<String, byte[]> kafka, JobCodec codec) {
        this.kafka = kafka;
        this.codec = codec;
    }

    /**
     * Writes the event; the future completes once the broker has it. Events of one job keep their order (one
     * partition per job id, an idempotent producer), so nothing waits for one event before sending the next.
     * Each attempt's events have their own key ({@link JobKeys#event}), so compaction keeps every attempt's last
     * one.
     */
    CompletableFuture<Void> publish(JobEvent event) {
        int partition = JobKeys.partition(event.jobId(), kafka.partitionsFor(Topics.JOB_EVENTS).size());
        return acked(kafka.send(new ProducerRecord<>(Topics.JOB_EVENTS, partition,
                JobKeys.event(event), codec.writeEvent(event))));
    }

    /** Writes the image; the future gives where it lies once the broker has it. */
    CompletableFuture<ResultRef> publishResult(JobRequest request, String model, byte[] png) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.RESULTS, request.id(), png);
        record.headers()
                .add(Headers.CONTENT_TYPE, bytes("image/png"))
                .add(Headers.WIDTH, bytes(String.valueOf(request.width())))
                .add(Headers.HEIGHT, bytes(String.valueOf(request.height())))
                .add(Headers.MODEL, bytes(model));
        return kafka.send(record).thenApply(sent -> {
            RecordMetadata md = sent.getRecordMetadata();
            return new ResultRef(md.partition(), md.offset(), "image/png", png.length);
        });
    }

    /** Sends a failed or malformed request to the dead-letter topic, with the failure as JSON. */
    CompletableFuture<Void> deadLetter(String key, byte[] value, byte[] failureJson) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(Topics.JOBS_DLT, key, value);
        record.headers().add(Headers.FAILURE, failureJson);
        return acked(kafka.send(record));
    }

    private static CompletableFuture<Void> acked(CompletableFuture<?> sent) {
        return sent.thenApply(ignored -> null);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

}
