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
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.ModelException;
import io.diffq.worker.pipeline.GenerationCanceledException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Runs one delivery of a job: count the attempt, RUNNING, the model, the image to {@code diffq.results},
 * the terminal event. The offset is committed by the container only after this returns, so a worker lost
 * mid-job loses nothing. A retryable failure is thrown as {@link RetryJobException} so the job is
 * delivered again, up to {@code max-attempts}; then it ends FAILED and goes to the dead-letter topic. A
 * failure to write to Kafka propagates too: the job runs again once the broker is back.
 */
@Component
class JobProcessor {

    private static final Logger log = LoggerFactory.getLogger(JobProcessor.class);

    private final JobEventPublisher publisher;
    private final JobCodec codec;
    private final WorkerIdentity identity;
    private final WorkerProperties properties;
    private final JobMetrics metrics;
    private final Cancellations cancellations;
    private final Clock clock;
    /** Per device, when its last delivery made its last write. */
    private final Map<String, Instant> lastWrite = new ConcurrentHashMap<>();

    JobProcessor(JobEventPublisher publisher, JobCodec codec, WorkerIdentity identity, WorkerProperties properties,
            JobMetrics metrics, Cancellations cancellations, Clock clock) {
        this.publisher = publisher;
        this.codec = codec;
        this.identity = identity;
        this.properties = properties;
        this.metrics = metrics;
        this.cancellations = cancellations;
        this.clock = clock;
    }

    /**
     * @param handBack true once this worker is shutting down and its grace period is over: the job in hand
     *                 stops and goes back to the group unfinished
     */
    void process(ConsumerRecord<String, byte[]> record, Consumer<?, ?> consumer, DeviceModels models,
            BooleanSupplier handBack) {
        try {
            deliver(record, consumer, models, handBack);
        } finally {
            lastWrite.put(models.device().name(), clock.instant());
        }
    }

    private void deliver(ConsumerRecord<String, byte[]> record, Consumer<?, ?> consumer, DeviceModels models,
            BooleanSupplier handBack) {
        JobRequest request;
        try {
            request = codec.readRequest(record.value());
        } catch (MalformedRecordException e) {
            rejectMalformed(record, e);
            return;
        }
        int attempt = Attempts.begin(consumer, record);
        Run run = new Run(request, attempt, identity.id() + "/" + models.device().name(), clock.instant());
        if (attempt == 1 && request.deadline() != null && run.startedAt.isAfter(request.deadline())) {
            publisher.publish(JobEvent.expired(request.id(), run.worker, request.model(), run.startedAt));
            metrics.finished(request, JobState.EXPIRED);
            return;
        }
        if (cancellations.requested(request.id()).isPresent()) {
            run.canceled();
            return;
        }
        if (attempt > properties.maxAttempts()) {
            publisher.publish(run.runningEvent(null));
            run.failForGood(JobFailure.fatal("attempts-exhausted", "the job was delivered " + (attempt - 1)
                    + " times and never finished; its worker was lost each time"), record);
            return;
        }
        publisher.publish(run.runningEvent(new Progress(0, request.steps())));
        if (attempt == 1) {
            metrics.started(request);
        }
        Optional<DiffusionModel> model = models.get(request.model());
        if (model.isEmpty()) {
            run.fail(JobFailure.fatal("unsupported-model", "this worker does not serve model " + request.model()));
            return;
        }
        recordIdleGap(models.device().name(), request);
        byte[] png;
        try {
            png = encodePng(model.get().generate(GenerationRequest.of(request), (step, total) -> {
                run.onStep(step, total);
                if (handBack.getAsBoolean()) {
                    throw new JobHandedBackException();
                }
            }));
        } catch (JobHandedBackException e) {
            log.info("shutting down: handing job {} back to the group unfinished", request.id());
            Attempts.handBack(consumer, record, attempt);
            throw e;
        } catch (GenerationCanceledException e) {
            run.canceled();
            return;
        } catch (ModelException e) {
            run.failOrRetry(new JobFailure(e.type(), e.getMessage(), e.retryable()), record);
            return;
        } catch (RuntimeException e) {
            log.warn("job {} attempt {} failed in model {}", request.id(), attempt, request.model(), e);
            run.failOrRetry(JobFailure.retryable("model-error", "the model failed: " + e.getClass().getSimpleName()),
                    record);
            return;
        }
        run.succeed(png, models.device().name());
    }

    /** The device's idle gap before this job, when the job was already queued at the previous job's last write. */
    private void recordIdleGap(String device, JobRequest request) {
        Instant previous = lastWrite.get(device);
        if (previous != null && !request.createdAt().isAfter(previous)) {
            metrics.idleGap(device, Duration.between(previous, clock.instant()));
        }
    }

    /** One delivery of one job. */
    private final class Run {

        private final JobRequest request;
        private final int attempt;
        private final String worker;
        private final Instant startedAt;
        private final long t0 = System.nanoTime();
        private long lastProgressSent = System.nanoTime();
        private Progress last;

        Run(JobRequest request, int attempt, String worker, Instant startedAt) {
            this.request = request;
            this.attempt = attempt;
            this.worker = worker;
            this.startedAt = startedAt;
        }

        JobEvent runningEvent(Progress progress) {
            last = progress;
            return JobEvent.running(request.id(), attempt, startedAt, worker, request.model(), progress,
                    clock.instant());
        }

        /** After each denoising step: cancellation, the time limit, throttled progress events. */
        void onStep(int step, int total) {
            last = new Progress(step, total);
            if (cancellations.requested(request.id()).isPresent()) {
                throw new GenerationCanceledException("canceled by the client");
            }
            if (clock.instant().isAfter(startedAt.plus(properties.maxJobDuration()))) {
                throw new ModelException("timeout", "the job ran longer than " + properties.maxJobDuration());
            }
            long now = System.nanoTime();
            if (now - lastProgressSent >= properties.progressInterval().toNanos() && step < total) {
                lastProgressSent = now;
                publisher.publishAsync(runningEvent(last));
            }
        }

        void succeed(byte[] png, String device) {
            long inferenceNanos = System.nanoTime() - t0;
            metrics.inference(request.model(), device, inferenceNanos);
            ResultRef ref = publisher.publishResult(request, request.model(), png);
            publisher.publish(JobEvent.succeeded(request.id(), attempt, startedAt, worker, request.model(),
                    new Progress(request.steps(), request.steps()), inferenceNanos / 1_000_000, ref,
                    clock.instant()));
            metrics.finished(request, JobState.SUCCEEDED);
        }

        void canceled() {
            publisher.publish(JobEvent.canceled(request.id(), attempt, startedAt, worker, request.model(),
                    clock.instant()));
            metrics.finished(request, JobState.CANCELED);
        }

        void fail(JobFailure failure) {
            publisher.publish(JobEvent.failed(request.id(), attempt, startedAt, worker, request.model(), last,
                    (System.nanoTime() - t0) / 1_000_000, failure, clock.instant()));
            metrics.finished(request, JobState.FAILED);
        }

        /** Fails for good and puts the job on the dead-letter topic with the failure. */
        void failForGood(JobFailure failure, ConsumerRecord<String, byte[]> record) {
            publisher.deadLetter(record.key(), record.value(), codec.writeFailure(failure));
            fail(failure);
        }

        void failOrRetry(JobFailure failure, ConsumerRecord<String, byte[]> record) {
            if (!failure.retryable()) {
                fail(failure);
            } else if (attempt >= properties.maxAttempts()) {
                failForGood(new JobFailure(failure.type(), failure.message() + " (attempt " + attempt + " of "
                        + properties.maxAttempts() + ")", false), record);
            } else {
                throw new RetryJobException(request.id(), attempt, failure);
            }
        }
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
}
