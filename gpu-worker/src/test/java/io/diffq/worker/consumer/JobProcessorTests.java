package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.model.ModelCard;
import io.diffq.worker.WorkerProperties;
import io.diffq.worker.model.DiffusionModel;
import io.diffq.worker.model.DiffusionModelProvider;
import io.diffq.worker.model.Drawing;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.ModelException;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.StepListener;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;

/**
 * One delivery of a job through {@link JobProcessor}, with fakes: a fixed clock, a publisher that records what is
 * written, a model that does what each test says. Every way a delivery ends, and what it writes for it.
 */
class JobProcessorTests {

    private static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");
    private static final int MAX_ATTEMPTS = 3;

    private final JobCodec codec = new JobCodec();
    private final RecordingPublisher publisher = new RecordingPublisher(codec);
    private final Set<String> canceled = new HashSet<>();
    private final JobControls controls = new JobControls(new KafkaProperties(), codec, Clock.systemUTC()) {
        @Override
        Optional<Instant> requested(String jobId) {
            return canceled.contains(jobId) ? Optional.of(T0) : Optional.empty();
        }
    };
    private final WorkerProperties properties = new WorkerProperties("w", List.of("cpu"), List.of("fake"),
            Duration.ofHours(1), MAX_ATTEMPTS, Duration.ofMinutes(10), Duration.ofSeconds(30), 4, Duration.ofMinutes(2), 1,
            null, WorkerProperties.Source.JOBS);
    /** The job events other workers wrote, folded in by the test (the index reads no topic). */
    private final JobEventsIndex jobEvents = new JobEventsIndex(new KafkaProperties(), Clock.systemUTC(), codec);
    private final JobProcessor processor = new JobProcessor(publisher, codec, new WorkerIdentity(properties),
            properties, new JobMetrics(new SimpleMeterRegistry(), Clock.fixed(T0, ZoneOffset.UTC)), controls,
            jobEvents, Clock.fixed(T0, ZoneOffset.UTC));
    /** What the model does with a batch. */
    private BiFunction<List<GenerationRequest>, List<StepListener>, List<Drawing>> model = (requests, listeners) ->
            requests.stream().map(r -> {
                listeners.get(requests.indexOf(r)).onStep(1, r.steps());
                return Drawing.of(new BufferedImage(r.width(), r.height(), BufferedImage.TYPE_INT_RGB));
            }).toList();
    private final DeviceModels models = DeviceModels.open(Device.CPU, List.of(provider()));
    private final AtomicLong nanos = new AtomicLong();

    @AfterEach
    void close() {
        models.close();
    }

    @Test
    void aJobThatSucceedsWritesRunningThenItsImageThenSucceededAndIsDoneWhenThatIsAcknowledged() {
        CompletableFuture<Void> ack = new CompletableFuture<>();
        publisher.acks = ack;
        JobLoop.Outcome outcome = one(job("a red circle", null), 2, false);

        // The terminal event goes out once the image is acknowledged, from the processor's writer thread.
        await().atMost(Duration.ofSeconds(10)).until(() -> publisher.events.size() == 2);
        assertThat(publisher.states()).containsExactly("RUNNING/2", "SUCCEEDED/2");
        assertThat(publisher.events.get(0).progress()).isEqualTo(new Progress(0, 4));
        assertThat(publisher.events.get(1).result()).isEqualTo(RecordingPublisher.RESULT);
        assertThat(publisher.events.get(1).worker()).isEqualTo("w/cpu");
        assertThat(outcome.written()).isNotDone();
        ack.complete(null);
        assertThat(outcome.written()).isCompleted();
    }

    @Test
    void aJobPastItsDeadlineExpiresUnstartedOnItsFirstAttemptOnlyAndACanceledOneNeverStarts() {
        assertThat(publisher.statesAfter(one(job("late", T0.minusSeconds(1)), 1, false))).containsExactly("EXPIRED/0");
        publisher.events.clear();
        // A later attempt started before the deadline: it runs on.
        assertThat(publisher.statesAfter(one(job("late", T0.minusSeconds(1)), 2, false)))
                .containsExactly("RUNNING/2", "SUCCEEDED/2");
        publisher.events.clear();
        JobRequest request = job("canceled", null);
        canceled.add(request.id());
        assertThat(publisher.statesAfter(one(request, 1, false))).containsExactly("CANCELED/1");
        assertThat(publisher.events.get(0).progress()).as("never started: no progress").isNull();
    }

    @Test
    void aCancelWhileRunningStopsTheJobAtItsNextStep() {
        JobRequest request = job("canceled later", null);
        model = (requests, listeners) -> {
            canceled.add(request.id());
            try {
                listeners.get(0).onStep(1, 4);
                return List.of(Drawing.of(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB)));
            } catch (RuntimeException e) {
                return List.of(Drawing.stopped(e));
            }
        };
        assertThat(publisher.statesAfter(one(request, 1, false))).containsExactly("RUNNING/1", "CANCELED/1");
        // How far it had come rides on the CANCELED event, which compaction keeps when it drops the RUNNING ones.
        assertThat(publisher.events.get(1).progress()).isEqualTo(new Progress(1, 4));
    }

    @Test
    void aDeliveryPastMaxAttemptsFailsAtOnceAndGoesToTheDeadLetterTopic() {
        assertThat(publisher.statesAfter(one(job("lost thrice", null), MAX_ATTEMPTS + 1, false)))
                .containsExactly("RUNNING/4", "FAILED/4");
        assertThat(publisher.events.get(1).failure().type()).isEqualTo("attempts-exhausted");
        assertThat(publisher.deadLetters).hasSize(1);
    }

    @Test
    void aModelThisWorkerDoesNotServeFails() {
        JobRequest request = new JobRequest("j-sdxl", "p", "", 8, 8, 4, 7.5, 1, "sdxl", null, T0, null, null, null,
                null);
        assertThat(publisher.statesAfter(one(request, 1, false))).containsExactly("RUNNING/1", "FAILED/1");
        assertThat(publisher.events.get(1).failure().type()).isEqualTo("unsupported-model");
        assertThat(publisher.deadLetters).isEmpty();
    }

    @Test
    void aRetryableFailureRunsAgainUntilTheLastAttemptOrTheLastDeliveryThenFailsToTheDeadLetterTopic() {
        model = (requests, listeners) -> {
            throw new ModelException("flaky", "try again", true, null);
        };
        JobLoop.Outcome again = one(job("flaky", null), 1, false);
        assertThat(again.runAgainBecause()).contains("attempt 1 failed (flaky");
        assertThat(publisher.states()).containsExactly("RUNNING/1");

        publisher.events.clear();
        assertThat(publisher.statesAfter(one(job("flaky", null), MAX_ATTEMPTS, false)))
                .containsExactly("RUNNING/3", "FAILED/3");
        assertThat(publisher.events.get(1).failure().message()).endsWith("(attempt 3 of 3)");
        assertThat(publisher.deadLetters).hasSize(1);

        publisher.events.clear();
        assertThat(publisher.statesAfter(one(job("flaky", null), 1, true))).containsExactly("RUNNING/1", "FAILED/1");
        assertThat(publisher.deadLetters).hasSize(2);
    }

    @Test
    void aFatalFailureEndsTheJobWithoutAnotherAttempt() {
        model = (requests, listeners) -> {
            throw new ModelException("bad-prompt", "no", false, null);
        };
        assertThat(publisher.statesAfter(one(job("bad", null), 1, false))).containsExactly("RUNNING/1", "FAILED/1");
        assertThat(publisher.events.get(1).failure().type()).isEqualTo("bad-prompt");
        assertThat(publisher.deadLetters).isEmpty();
    }

    @Test
    void aJobHandedBackOnShutdownWritesNoEndUnlessItIsTheLastDelivery() {
        JobLoop.Outcome back = processor.process(List.of(jobOf(job("long", null), 1, false)), models, () -> true)
                .get(0);
        assertThat(back.handedBack()).isTrue();
        assertThat(publisher.states()).containsExactly("RUNNING/1");

        publisher.events.clear();
        JobLoop.Outcome last = processor.process(List.of(jobOf(job("long", null), 2, true)), models, () -> true)
                .get(0);
        assertThat(publisher.statesAfter(last)).containsExactly("RUNNING/2", "FAILED/2");
        assertThat(publisher.events.get(1).failure().type()).isEqualTo("handed-back");
        assertThat(publisher.deadLetters).hasSize(1);
    }

    @Test
    void aWorkerWhoseLeaseRanOutWritesNothingMore() {
        // Out before it ends: the model ran, the end is not written and the write fails.
        JobLoop.Job job = jobOf(job("paused", null), 1, false);
        model = (requests, listeners) -> {
            nanos.addAndGet(Duration.ofMinutes(1).toNanos());
            return List.of(Drawing.of(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB)));
        };
        JobLoop.Outcome outcome = processor.process(List.of(job), models, () -> false).get(0);
        assertThat(outcome.written()).isCompletedExceptionally();
        assertThat(publisher.states()).containsExactly("RUNNING/1");

        // Out at a step: the model stops there and the job is released.
        publisher.events.clear();
        JobLoop.Job other = jobOf(job("paused again", null), 1, false);
        model = (requests, listeners) -> {
            other.lease().lose();
            try {
                listeners.get(0).onStep(1, 4);
                return List.of(Drawing.of(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB)));
            } catch (RuntimeException e) {
                return List.of(Drawing.stopped(e));
            }
        };
        JobLoop.Outcome stopped = processor.process(List.of(other), models, () -> false).get(0);
        assertThat(stopped.runAgainBecause()).contains("lock on its record ran out");
        assertThat(publisher.states()).containsExactly("RUNNING/1");
    }

    /**
     * The broker gave the record to another worker too (fault campaign, 42c0bca seed 10). When that one's newer
     * attempt starts during this run, this run stops at its next step and writes nothing more (released, as a
     * lost lease); when the job ends during the model (another run of the same number), this run writes neither
     * an image nor an end, and its record is done.
     */
    @Test
    void aRunOvertakenByAnotherWritesNothingMore() {
        JobRequest overtaken = job("overtaken", null);
        model = (requests, listeners) -> {
            jobEvents.remember(JobEvent.running(overtaken.id(), 3, T0, "w2/cpu", "fake", new Progress(0, 4), T0));
            try {
                listeners.get(0).onStep(1, 4);
                return List.of(Drawing.of(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB)));
            } catch (RuntimeException e) {
                return List.of(Drawing.stopped(e));
            }
        };
        JobLoop.Outcome stopped = one(overtaken, 2, false);
        assertThat(stopped.written()).as("released, not written").isNull();
        assertThat(stopped.runAgainBecause()).isNotNull();
        assertThat(publisher.states()).containsExactly("RUNNING/2");

        publisher.events.clear();
        JobRequest ended = job("ended elsewhere", null);
        model = (requests, listeners) -> {
            jobEvents.remember(JobEvent.running(ended.id(), 1, T0, "w2/cpu", "fake", new Progress(0, 4), T0));
            jobEvents.remember(JobEvent.succeeded(ended.id(), 1, T0, "w2/cpu", "fake", new Progress(4, 4), 5L,
                    RecordingPublisher.RESULT, T0));
            return List.of(Drawing.of(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB)));
        };
        JobLoop.Outcome done = one(ended, 1, false);
        assertThat(done.written()).as("the record is finished").isCompleted();
        assertThat(publisher.states()).containsExactly("RUNNING/1");
        assertThat(publisher.results).as("no image either").isEmpty();
    }

    @Test
    void anUnreadableRecordIsDeadLetteredAndItsJobFailsThroughTheTransitionTable() {
        ConsumerRecord<String, byte[]> record = new ConsumerRecord<>("diffq.jobs", 0, 5, "j-broken",
                "{not json".getBytes(StandardCharsets.UTF_8));
        JobLoop.Job job = new JobLoop.Job(record, 1, new Lease(nanos::get, 0, Duration.ofSeconds(30)), false);
        JobLoop.Outcome outcome = processor.process(List.of(job), models, () -> false).get(0);
        assertThat(publisher.statesAfter(outcome)).containsExactly("RUNNING/1", "FAILED/1");
        assertThat(publisher.events.get(1).failure().type()).isEqualTo("malformed-request");
        assertThat(publisher.deadLetters).hasSize(1);
    }

    private JobLoop.Outcome one(JobRequest request, int attempt, boolean lastDelivery) {
        return processor.process(List.of(jobOf(request, attempt, lastDelivery)), models, () -> false).get(0);
    }

    private JobLoop.Job jobOf(JobRequest request, int attempt, boolean lastDelivery) {
        ConsumerRecord<String, byte[]> record = new ConsumerRecord<>("diffq.jobs", 0, 1, request.id(),
                codec.writeRequest(request));
        return new JobLoop.Job(record, attempt, new Lease(nanos::get, nanos.get(), Duration.ofSeconds(30)),
                lastDelivery);
    }

    private static int counter;

    private static JobRequest job(String prompt, Instant deadline) {
        return new JobRequest("j-" + (++counter), prompt, "", 8, 8, 4, 7.5, 1, "fake", null, T0.minusSeconds(5),
                deadline, null, null, null);
    }

    private DiffusionModelProvider provider() {
        return new DiffusionModelProvider() {
            @Override
            public String name() {
                return "fake";
            }

            @Override
            public DiffusionModel open(Device device) {
                return new DiffusionModel() {
                    @Override
                    public ModelCard card() {
                        return ModelCard.of("fake", 64, 8, 64, 8, true, List.of("ddim"));
                    }

                    @Override
                    public List<Drawing> generate(List<GenerationRequest> requests, List<StepListener> listeners) {
                        return model.apply(requests, listeners);
                    }

                    @Override
                    public void close() {
                    }
                };
            }
        };
    }

    /** Records what the processor writes; every write is acknowledged when {@link #acks} completes. */
    static final class RecordingPublisher extends JobEventPublisher {

        static final ResultRef RESULT = new ResultRef(0, 42, "image/png", 10);

        final List<JobEvent> events = new CopyOnWriteArrayList<>();
        final List<String> deadLetters = new CopyOnWriteArrayList<>();
        final List<String> results = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> acks = CompletableFuture.completedFuture(null);

        RecordingPublisher(JobCodec codec) {
            super(null, codec);
        }

        @Override
        CompletableFuture<Void> publish(JobEvent event) {
            events.add(event);
            return acks;
        }

        @Override
        CompletableFuture<ResultRef> publishResult(JobRequest request, String model, byte[] png) {
            results.add(request.id());
            return CompletableFuture.completedFuture(RESULT);
        }

        @Override
        CompletableFuture<Void> deadLetter(String key, byte[] value, byte[] failureJson) {
            deadLetters.add(key);
            return acks;
        }

        List<String> states() {
            return events.stream().map(e -> e.state() + "/" + e.attempt()).toList();
        }

        /** The states written once the outcome's writes are done. */
        List<String> statesAfter(JobLoop.Outcome outcome) {
            if (outcome.written() != null) {
                outcome.written().join();
            }
            return states();
        }
    }
}
