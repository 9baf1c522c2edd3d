package io.diffq.worker.consumer;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobFailure;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobTransitions;
import io.diffq.common.job.Progress;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.worker.WorkerProperties;
import io.diffq.worker.model.DiffusionModel;
import io.diffq.worker.model.Drawing;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.ModelException;
import io.diffq.worker.pipeline.GenerationCanceledException;
import io.diffq.worker.pipeline.StepListener;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Runs one delivery of each job of a batch, {@link Delivery}: start (RUNNING), the model (the batch's jobs
 * together), finish (the image to {@code diffq.results}, then the terminal event). Nothing here waits for the
 * broker: a job's future completes once its terminal event is acknowledged, and only then does {@link JobLoop}
 * accept the record, so a worker lost mid-job, or a write that fails, loses nothing (the job runs again). After a
 * retryable model failure the loop releases the job to be delivered again, up to {@code max-attempts}; then it
 * ends FAILED and goes to the dead-letter topic. Every state change goes through {@link AttemptEvents}' checked
 * verbs over {@link JobTransitions}.
 *
 * <p>A run stops, writing nothing more, once its job's events ({@link JobEventsIndex}) show that it was overtaken:
 * a newer attempt started elsewhere (the broker gave the record to another worker; what this one would write is
 * a late write every reader refuses), or the job ended. It looks at every step and before its terminal event, so
 * a record the broker gave out twice costs one model run, not two, and leaves one terminal event.
 */
@Component
class JobProcessor {

    private static final Logger log = LoggerFactory.getLogger(JobProcessor.class);

    private final JobEventPublisher publisher;
    private final JobCodec codec;
    private final WorkerIdentity identity;
    private final WorkerProperties properties;
    private final JobMetrics metrics;
    private final JobControls cancellations;
    private final JobEventsIndex jobEvents;
    private final Clock clock;
    /** Sends each terminal event that has to wait for its image's position. */
    private final Executor writer = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "diffq-terminal-writer");
        t.setDaemon(true);
        return t;
    });
    /** Per device, when its model last became free. */
    private final Map<String, Instant> lastFree = new ConcurrentHashMap<>();

    JobProcessor(JobEventPublisher publisher, JobCodec codec, WorkerIdentity identity, WorkerProperties properties,
            JobMetrics metrics, JobControls cancellations, JobEventsIndex jobEvents, Clock clock) {
        this.publisher = publisher;
        this.codec = codec;
        this.identity = identity;
        this.properties = properties;
        this.metrics = metrics;
        this.cancellations = cancellations;
        this.jobEvents = jobEvents;
        this.clock = clock;
    }

    /**
     * Runs one delivery of each job; those that reach their model run through it as one batch (the loop puts
     * only jobs with equal {@link #batchKey}s together).
     *
     * @param jobs     each with this delivery's attempt, from 1, and its lease
     * @param handBack true once this worker is shutting down and its grace period is over: the jobs in hand
     *                 stop and go back to the group unfinished
     * @return per job: its writes (complete when its terminal event is acknowledged; fail when a write fails),
     *         another attempt, or handed back
     */
    List<JobLoop.Outcome> process(List<JobLoop.Job> jobs, DeviceModels models, BooleanSupplier handBack) {
        JobLoop.Outcome[] outcomes = new JobLoop.Outcome[jobs.size()];
        List<Delivery> drawing = new ArrayList<>(jobs.size());
        List<Integer> drawingAt = new ArrayList<>(jobs.size());
        for (int i = 0; i < jobs.size(); i++) {
            ConsumerRecord<String, byte[]> record = jobs.get(i).record();
            JobRequest request;
            try {
                request = codec.readRequest(record.value());
            } catch (MalformedRecordException e) {
                outcomes[i] = JobLoop.Outcome.written(rejectMalformed(record, e));
                continue;
            }
            Delivery delivery = new Delivery(jobs.get(i), request, models);
            if (delivery.start()) {
                drawing.add(delivery);
                drawingAt.add(i);
            } else {
                outcomes[i] = delivery.outcome();
            }
        }
        if (!drawing.isEmpty()) {
            draw(drawing, models.device().name(), handBack);
            for (int k = 0; k < drawing.size(); k++) {
                outcomes[drawingAt.get(k)] = drawing.get(k).outcome();
            }
        }
        return Arrays.asList(outcomes);
    }

    /**
     * What a job must share with the others of its batch: its model and {@link GenerationRequest#batchKey}; an
     * unreadable record shares with none.
     */
    Object batchKey(ConsumerRecord<String, byte[]> record) {
        try {
            JobRequest request = codec.readRequest(record.value());
            return List.of(request.model(), GenerationRequest.of(request).batchKey());
        } catch (MalformedRecordException e) {
            return record;
        }
    }

    /**
     * The model on every delivery that started, as one batch: each job keeps its own progress, cancel and time
     * limit (its listener takes it out of the batch at the next step), and its own outcome. A failure of the
     * model itself is every job's failure.
     */
    private void draw(List<Delivery> batch, String device, BooleanSupplier handBack) {
        recordIdleGap(device, batch.get(0).request);
        long t0 = System.nanoTime();
        List<GenerationRequest> requests = new ArrayList<>(batch.size());
        List<StepListener> listeners = new ArrayList<>(batch.size());
        for (Delivery d : batch) {
            requests.add(GenerationRequest.of(d.request));
            listeners.add((step, total) -> {
                d.onStep(step, total);
                if (handBack.getAsBoolean()) {
                    throw new JobHandedBackException();
                }
            });
        }
        metrics.batch(device, batch.size());
        List<Drawing> drawings;
        try {
            drawings = batch.get(0).model.generate(requests, listeners);
        } catch (RuntimeException e) {
            batch.forEach(d -> d.stoppedBy(e));
            return;
        } finally {
            lastFree.put(device, clock.instant());
        }
        long inferenceNanos = System.nanoTime() - t0;
        for (int k = 0; k < batch.size(); k++) {
            batch.get(k).drawn(drawings.get(k), inferenceNanos);
        }
    }

    /** The device's idle gap before this job, when the job was already queued as the device became free. */
    private void recordIdleGap(String device, JobRequest request) {
        Instant previous = lastFree.get(device);
        if (previous != null && !request.createdAt().isAfter(previous)) {
            metrics.idleGap(device, Duration.between(previous, clock.instant()));
        }
    }

    /**
     * One delivery of one job: {@link #start}, the model ({@link #draw}), {@link #finish}. Each state it writes
     * goes through {@link AttemptEvents}' checked verbs, and only while the worker holds the record's
     * {@link Lease}: a worker paused past its lock writes nothing more of the job, which another worker now runs.
     */
    private final class Delivery {

        private final JobLoop.Job job;
        private final JobRequest request;
        private final int attempt;
        private final DeviceModels models;
        private final Instant startedAt;
        private final AttemptEvents events;
        private final long t0 = System.nanoTime();
        private long lastProgressSent = t0;
        private Progress last;
        private DiffusionModel model;
        /** How it ends, once known: set by start or the model, written by finish. */
        private JobState ending;
        private JobFailure failure;
        private byte[] png;
        private Long inferenceMillis;
        private boolean deadLetter;
        private Instant endedAt;
        /** Set when the delivery ends without a terminal state: another attempt, hand-back, lost lease. */
        private JobLoop.Outcome unfinished;

        Delivery(JobLoop.Job job, JobRequest request, DeviceModels models) {
            this.job = job;
            this.request = request;
            this.attempt = job.attempt();
            this.models = models;
            this.startedAt = clock.instant();
            this.events = new AttemptEvents(request.id(), attempt, startedAt,
                    identity.id() + "/" + models.device().name(), request.model());
        }

        /** RUNNING, unless the job ends before its model: expired, canceled, out of attempts, no such model. */
        boolean start() {
            if (attempt == 1 && request.deadline() != null && startedAt.isAfter(request.deadline())) {
                return end(JobState.EXPIRED, null);
            }
            if (cancellations.requested(request.id()).isPresent()) {
                return end(JobState.CANCELED, null);
            }
            boolean exhausted = attempt > properties.maxAttempts();
            if (!send(exhausted ? null : new Progress(0, request.steps()))) {
                return false;
            }
            if (exhausted) {
                deadLetter = true;
                return end(JobState.FAILED, JobFailure.fatal("attempts-exhausted", "the job was delivered "
                        + (attempt - 1) + " times and never finished; its worker was lost each time"));
            }
            if (attempt == 1) {
                metrics.started(request);
            }
            model = models.get(request.model()).orElse(null);
            if (model == null) {
                return end(JobState.FAILED, JobFailure.fatal("unsupported-model",
                        "this worker does not serve model " + request.model()));
            }
            return true;
        }

        /** The model's picture for this job, or what stopped it. */
        void drawn(Drawing drawing, long inferenceNanos) {
            if (drawing.stoppedBy() != null) {
                stoppedBy(drawing.stoppedBy());
                return;
            }
            try {
                png = encodePng(drawing.image());
            } catch (RuntimeException e) {
                stoppedBy(e);
                return;
            }
            inferenceMillis = inferenceNanos / 1_000_000;
            metrics.inference(request.model(), models.device().name(), inferenceNanos);
            end(JobState.SUCCEEDED, null);
        }

        /** The job stopped in its model: handed back, lease lost, canceled, or failed (perhaps to run again). */
        void stoppedBy(RuntimeException e) {
            if (e instanceof JobHandedBackException && job.lastDelivery()) {
                deadLetter = true;
                end(JobState.FAILED, JobFailure.fatal("handed-back", "the job was handed back on shutdown in its "
                        + "last delivery the queue makes; it ends here instead of being lost"));
            } else if (e instanceof JobHandedBackException) {
                unfinished = JobLoop.Outcome.handBack();
            } else if (e instanceof LeaseLostException) {
                unfinished = leaseLost();
            } else if (e instanceof GenerationCanceledException) {
                end(JobState.CANCELED, null);
            } else if (e instanceof ModelException m) {
                failOrRetry(new JobFailure(m.type(), m.getMessage(), m.retryable()));
            } else {
                log.warn("job {} attempt {} failed in model {}", request.id(), attempt, request.model(), e);
                failOrRetry(JobFailure.retryable("model-error", "the model failed: " + e.getClass().getSimpleName()));
            }
        }

        /** What the loop does next with this job, once its model has run (or it ended before). */
        JobLoop.Outcome outcome() {
            return unfinished != null ? unfinished : JobLoop.Outcome.written(finish());
        }

        /**
         * Writes how it ended: for a success the image first, then the event that points at it. The future
         * completes when the terminal event is acknowledged; it fails, writing nothing, when the lease is gone.
         */
        private CompletableFuture<Void> finish() {
            if (!job.lease().held()) {
                return CompletableFuture.failedFuture(new LeaseLostException(leaseLost().runAgainBecause()));
            }
            Optional<CompletableFuture<Void>> overtaken = overtaken();
            if (overtaken.isPresent()) {
                return overtaken.get();
            }
            JobState terminal = ending;
            CompletableFuture<Void> written;
            if (terminal == JobState.SUCCEEDED) {
                // Not on the producer's own thread, where a send that waits for buffer space would wait forever.
                written = publisher.publishResult(request, request.model(), png).thenComposeAsync(ref -> {
                    if (!job.lease().held()) {
                        return CompletableFuture.failedFuture(new LeaseLostException(leaseLost().runAgainBecause()));
                    }
                    Optional<CompletableFuture<Void>> meanwhile = overtaken();
                    if (meanwhile.isPresent()) {
                        return meanwhile.get();
                    }
                    return publisher.publish(events.succeeded(new Progress(request.steps(), request.steps()),
                            inferenceMillis, ref, endedAt));
                }, writer);
            } else {
                written = publisher.publish(terminalEvent(terminal));
                if (deadLetter) {
                    written = CompletableFuture.allOf(written,
                            publisher.deadLetter(job.record().key(), job.record().value(), codec.writeFailure(failure)));
                }
            }
            return written.thenRun(() -> metrics.finished(request, terminal));
        }

        private JobEvent terminalEvent(JobState terminal) {
            return switch (terminal) {
                case EXPIRED -> events.expired(endedAt);
                case CANCELED -> events.canceled(last, endedAt);
                case FAILED -> events.failed(last, model == null ? null : (System.nanoTime() - t0) / 1_000_000,
                        failure, endedAt);
                default -> throw new IllegalStateException("not a terminal state without an image: " + terminal);
            };
        }

        /**
         * What this run does instead of writing its end, when its job's events show it was overtaken: nothing,
         * done, when the job ended (another run of the same number ended it; the record is finished); a lost
         * lease (released) when a newer attempt started elsewhere.
         */
        private Optional<CompletableFuture<Void>> overtaken() {
            Optional<JobEventsIndex.Seen> seen = jobEvents.peek(request.id());
            if (seen.isEmpty()) {
                return Optional.empty();
            }
            if (seen.get().ended()) {
                log.info("job {} attempt {}: the job ended meanwhile (its events; attempt {}), this run writes no end "
                        + "of its own", request.id(), attempt, seen.get().attempt());
                return Optional.of(CompletableFuture.completedFuture(null));
            }
            if (seen.get().attempt() > attempt) {
                return Optional.of(CompletableFuture.failedFuture(new LeaseLostException("job " + request.id()
                        + " attempt " + attempt + ": attempt " + seen.get().attempt() + " started elsewhere; this "
                        + "run writes nothing more")));
            }
            return Optional.empty();
        }

        /** After each denoising step: cancellation, the time limit, the lease, throttled progress events. */
        private void onStep(int step, int total) {
            last = new Progress(step, total);
            if (!job.lease().held()) {
                throw new LeaseLostException("lease lost");
            }
            if (overtaken().isPresent()) {
                throw new LeaseLostException("overtaken: its job ended, or a newer attempt started elsewhere");
            }
            if (cancellations.requested(request.id()).isPresent()) {
                throw new GenerationCanceledException("canceled by the client");
            }
            if (clock.instant().isAfter(startedAt.plus(properties.maxJobDuration()))) {
                throw new ModelException("timeout", "the job ran longer than " + properties.maxJobDuration());
            }
            long now = System.nanoTime();
            if (now - lastProgressSent >= properties.progressInterval().toNanos() && step < total) {
                lastProgressSent = now;
                if (!send(last)) {
                    throw new LeaseLostException("lease lost");
                }
            }
        }

        private void failOrRetry(JobFailure cause) {
            if (!cause.retryable()) {
                end(JobState.FAILED, cause);
            } else if (attempt >= properties.maxAttempts() || job.lastDelivery()) {
                deadLetter = true;
                end(JobState.FAILED, new JobFailure(cause.type(), cause.message() + " (attempt " + attempt + " of "
                        + properties.maxAttempts() + ")", false));
            } else {
                unfinished = JobLoop.Outcome.runAgain("job " + request.id() + " attempt " + attempt + " failed ("
                        + cause.type() + ": " + cause.message() + "); it will be delivered again");
            }
        }

        /**
         * A RUNNING event, sent without waiting (the terminal event's acknowledgement covers it); false, sending
         * nothing, once the lease is gone.
         */
        private boolean send(Progress progress) {
            if (!job.lease().held()) {
                unfinished = leaseLost();
                return false;
            }
            last = progress;
            publisher.publish(events.running(progress, clock.instant()));
            return true;
        }

        private JobLoop.Outcome leaseLost() {
            return JobLoop.Outcome.runAgain("job " + request.id() + " attempt " + attempt + ": this worker's lock on "
                    + "its record ran out (a pause longer than the lock?); another worker runs it, this one writes "
                    + "nothing more");
        }

        /** Records how the delivery ends; returns false (the model does not run). */
        private boolean end(JobState terminal, JobFailure why) {
            ending = terminal;
            failure = why;
            endedAt = clock.instant();
            return false;
        }
    }

    /** An unreadable record: dead-lettered, and when it names a job, that job ends FAILED (RUNNING, then FAILED). */
    private CompletableFuture<Void> rejectMalformed(ConsumerRecord<String, byte[]> record,
            MalformedRecordException e) {
        log.warn("dead-lettering unreadable job record {}-{}@{}: {}", record.topic(), record.partition(),
                record.offset(), e.getMessage());
        JobFailure failure = JobFailure.fatal("malformed-request", e.getMessage());
        CompletableFuture<Void> written = publisher.deadLetter(record.key(), record.value(), codec.writeFailure(failure));
        if (record.key() != null) {
            Instant now = clock.instant();
            AttemptEvents events = new AttemptEvents(record.key(), 1, now, identity.id(), null);
            publisher.publish(events.running(null, now));
            written = CompletableFuture.allOf(written, publisher.publish(events.failed(null, null, failure, now)));
        }
        return written;
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
