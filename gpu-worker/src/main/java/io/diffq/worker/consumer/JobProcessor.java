package io.diffq.worker.consumer;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobFailure;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.worker.WorkerProperties;
import io.diffq.worker.model.DiffusionModel;
import io.diffq.worker.model.GenerationCanceledException;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.ModelException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Runs one job: RUNNING, the model, the image to {@code diffq.results}, the terminal event. The offset is
 * committed by the container only after this returns, so a worker lost mid-job loses nothing. A model
 * failure becomes a FAILED event with the failure as data; a Kafka failure propagates so that the record
 * is tried again.
 */
@Component
class JobProcessor {

    private static final Logger log = LoggerFactory.getLogger(JobProcessor.class);

    private final JobEventPublisher publisher;
    private final JobCodec codec;
    private final WorkerIdentity identity;
    private final WorkerProperties properties;
    private final JobMetrics metrics;
    private final Clock clock;

    JobProcessor(JobEventPublisher publisher, JobCodec codec, WorkerIdentity identity, WorkerProperties properties,
            JobMetrics metrics, Clock clock) {
        this.publisher = publisher;
        this.codec = codec;
        this.identity = identity;
        this.properties = properties;
        this.metrics = metrics;
        this.clock = clock;
    }

    void process(ConsumerRecord<String, byte[]> record, DeviceModels models) {
        JobRequest request;
        try {
            request = codec.readRequest(record.value());
        } catch (MalformedRecordException e) {
            rejectMalformed(record, e);
            return;
        }
        String worker = identity.id() + "/" + models.device().name();
        Instant now = clock.instant();
        if (request.deadline() != null && now.isAfter(request.deadline())) {
            publisher.publish(JobEvent.expired(request.id(), worker, request.model(), now));
            metrics.finished(request, JobState.EXPIRED);
            return;
        }
        int attempt = 1;
        Instant startedAt = now;
        Progress start = new Progress(0, request.steps());
        publisher.publish(JobEvent.running(request.id(), attempt, startedAt, worker, request.model(), start, now));
        metrics.started(request);

        Optional<DiffusionModel> model = models.get(request.model());
        if (model.isEmpty()) {
            publisher.publish(JobEvent.failed(request.id(), attempt, startedAt, worker, request.model(), start, 0L,
                    JobFailure.fatal("unsupported-model", "this worker does not serve model " + request.model()),
                    clock.instant()));
            metrics.finished(request, JobState.FAILED);
            return;
        }
        ProgressReporter progress = new ProgressReporter(request, attempt, startedAt, worker);
        long t0 = System.nanoTime();
        byte[] png;
        try {
            png = encodePng(model.get().generate(GenerationRequest.of(request), progress::onStep));
        } catch (GenerationCanceledException e) {
            publisher.publish(JobEvent.canceled(request.id(), attempt, startedAt, worker, request.model(),
                    clock.instant()));
            metrics.finished(request, JobState.CANCELED);
            return;
        } catch (ModelException e) {
            fail(request, attempt, startedAt, worker, progress.last, t0, new JobFailure(e.type(), e.getMessage(),
                    e.retryable()));
            return;
        } catch (RuntimeException e) {
            log.warn("job {} failed in model {}", request.id(), request.model(), e);
            fail(request, attempt, startedAt, worker, progress.last, t0,
                    JobFailure.fatal("model-error", "the model failed: " + e.getClass().getSimpleName()));
            return;
        }
        long inferenceNanos = System.nanoTime() - t0;
        metrics.inference(request.model(), models.device().name(), inferenceNanos);
        ResultRef ref = publisher.publishResult(request, request.model(), png);
        publisher.publish(JobEvent.succeeded(request.id(), attempt, startedAt, worker, request.model(),
                new Progress(request.steps(), request.steps()), inferenceNanos / 1_000_000, ref, clock.instant()));
        metrics.finished(request, JobState.SUCCEEDED);
    }

    private void fail(JobRequest request, int attempt, Instant startedAt, String worker, Progress last, long t0,
            JobFailure failure) {
        long inferenceMillis = (System.nanoTime() - t0) / 1_000_000;
        publisher.publish(JobEvent.failed(request.id(), attempt, startedAt, worker, request.model(), last,
                inferenceMillis, failure, clock.instant()));
        metrics.finished(request, JobState.FAILED);
    }

    private void rejectMalformed(ConsumerRecord<String, byte[]> record, MalformedRecordException e) {
        log.warn("dead-lettering unreadable job record {}-{}@{}: {}", record.topic(), record.partition(),
                record.offset(), e.getMessage());
        JobFailure failure = JobFailure.fatal("malformed-request", e.getMessage());
        publisher.deadLetter(record.key(), record.value(), codec.writeFailure(failure));
        if (record.key() != null) {
            Instant now = clock.instant();
            publisher.publish(JobEvent.running(record.key(), 1, now, identity.id(), null, null, now));
            publisher.publish(JobEvent.failed(record.key(), 1, now, identity.id(), null, null, null, failure, now));
        }
    }

    static byte[] encodePng(BufferedImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            if (!ImageIO.write(image, "png", out)) {
                throw new IllegalStateException("no PNG writer");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Publishes RUNNING progress at most once per progress interval; the terminal event reports the last step. */
    private final class ProgressReporter {

        private final JobRequest request;
        private final int attempt;
        private final Instant startedAt;
        private final String worker;
        private long lastSent = System.nanoTime();
        private Progress last;

        ProgressReporter(JobRequest request, int attempt, Instant startedAt, String worker) {
            this.request = request;
            this.attempt = attempt;
            this.startedAt = startedAt;
            this.worker = worker;
            this.last = new Progress(0, request.steps());
        }

        void onStep(int step, int total) {
            last = new Progress(step, total);
            long now = System.nanoTime();
            if (now - lastSent >= properties.progressInterval().toNanos() && step < total) {
                lastSent = now;
                publisher.publishAsync(JobEvent.running(request.id(), attempt, startedAt, worker, request.model(),
                        last, clock.instant()));
            }
        }
    }
}
