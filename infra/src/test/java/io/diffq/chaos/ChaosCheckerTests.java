package io.diffq.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobFailure;
import io.diffq.common.job.JobState;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.kafka.JobKeys;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The checker can fail: a clean history passes, and for every invariant a history broken on purpose (the
 * mutation named by each test) is reported as exactly that violation.
 */
class ChaosCheckerTests {

    private static final String A = "job-a-plain";
    private static final String B = "job-b-idempotent";
    private static final String C = "job-c-canceled-queued";
    private static final String D = "job-d-dead-lettered";
    private static final String E = "job-e-redelivered";
    private static final int MAX_ATTEMPTS = 3;

    @Test
    void aCleanHistoryHasNoViolation() {
        assertThat(ChaosChecker.check(new Fixture().input())).isEmpty();
    }

    @Test
    void aJobWithTwoDifferentTerminalEventsIsOneTerminalStateViolation() {
        // Mutation: a redelivery after SUCCEEDED writes CANCELED (a worker that writes a second terminal event).
        assertReports(f -> {
            f.event(E, JobEvent.canceled(E, 3, at(2600), "worker-2", "simulated", at(2700)));
        }, Violation.ONE_TERMINAL_STATE);
    }

    @Test
    void anAcceptedJobThatNeverEndsIsLost() {
        // Mutation: the gateway answered 202 before the broker acknowledged, and the record never arrived.
        assertReports(f -> f.op(f.submit(0, "job-f-lost", "f", null, 202, false)), Violation.LOST_JOB);
    }

    @Test
    void aGatewayShowingAnotherTerminalStateIsGatewaysAgreeViolation() {
        // Mutation: gateway 1's last answer after quiescence shows FAILED where the topic says SUCCEEDED.
        assertReports(f -> f.replace(op -> op.kind() == Op.Kind.POLL && op.phase().equals(Op.FINAL)
                && op.jobId().equals(A) && op.gateway() == 1, op -> op.withState("FAILED", 1)),
                Violation.GATEWAYS_AGREE);
    }

    @Test
    void aJobCanceledWhileQueuedThatLaterRanIsReported() {
        // Mutation: the cancel of C was answered at 1000; a worker then ran it to SUCCEEDED.
        assertReports(f -> {
            f.events.put(C, new ArrayList<>(List.of(
                    JobEvent.running(C, 1, at(1200), "worker-1", "simulated", new Progress(0, 4), at(1200)),
                    succeeded(C, 1, at(1500), "sha-c"))));
            f.results.put(C, List.of("sha-c"));
            f.replace(op -> C.equals(op.jobId()) && op.phase().equals(Op.FINAL), op -> op.withState("SUCCEEDED", 1));
            f.op(f.finalOp(Op.Kind.IMAGE, 0, C, null, "sha-c"));
            f.op(f.finalOp(Op.Kind.IMAGE, 1, C, null, "sha-c"));
        }, Violation.CANCELED_QUEUED_RAN);
    }

    @Test
    void twoJobsForOneIdempotencyKeyAreReported() {
        // Mutation: the replay of B's key was answered with another job's id (A's).
        assertReports(f -> f.op(f.submit(1, A, "b", "key-1", 202, true)), Violation.IDEMPOTENCY);
    }

    @Test
    void aDifferentBodyNotAnswered422IsReported() {
        // Mutation: the different body under B's key got 202 instead of 422.
        assertReports(f -> f.replace(op -> op.kind() == Op.Kind.SUBMIT && "b-other".equals(op.prompt()),
                op -> new Op(op.client(), op.phase(), op.kind(), op.gateway(), op.apiKey(), op.idempotencyKey(),
                        op.prompt(), B, op.startMs(), op.endMs(), op.timeoutMs(), op.outcome(), 202, false, true,
                        null, 0, null)), Violation.IDEMPOTENCY);
    }

    @Test
    void theSameBodyAnswered422IsReported() {
        // Mutation: an identical replay of B's key got 422.
        assertReports(f -> f.op(f.submit(1, null, "b", "key-1", 422, false)), Violation.IDEMPOTENCY);
    }

    @Test
    void attemptsOverMaxAttemptsAreReported() {
        // Mutation: D ran a fourth time with max-attempts 3.
        assertReports(f -> f.events.get(D).add(JobEvent.running(D, 4, at(3900), "worker-3", "simulated",
                new Progress(0, 4), at(3900))), Violation.ATTEMPTS);
    }

    @Test
    void aFourthRunUnderAnAttemptNumberAlreadyUsedIsReported() {
        // Mutation: a worker that lost D's partition runs attempt 3 again beside the owner's attempt 3.
        assertReports(f -> f.events.get(D).add(3, JobEvent.running(D, 3, at(1350), "worker-1", "simulated",
                new Progress(0, 4), at(1350))), Violation.ATTEMPTS);
    }

    @Test
    void aDeadLetterWithoutAFailedJobIsReported() {
        // Mutation: A, which SUCCEEDED, is on the DLT.
        assertReports(f -> f.deadLettered.add(A), Violation.DEAD_LETTERS);
    }

    @Test
    void aFailedJobMissingFromTheDeadLetterTopicIsReported() {
        // Mutation: D ended FAILED but the DLT record is missing.
        assertReports(f -> f.deadLettered.remove(D), Violation.DEAD_LETTERS);
    }

    @Test
    void imageBytesDifferingBetweenGatewaysAreReported() {
        // Mutation: gateway 1 served other bytes for A after quiescence.
        assertReports(f -> f.replace(op -> op.kind() == Op.Kind.IMAGE && op.jobId().equals(A) && op.gateway() == 1,
                op -> new Op(op.client(), op.phase(), op.kind(), op.gateway(), op.apiKey(), null, null, A,
                        op.startMs(), op.endMs(), op.timeoutMs(), op.outcome(), 200, false, false, null, 0, "sha-x")),
                Violation.IMAGES);
    }

    @Test
    void aRedeliveryThatDrewOtherBytesIsReported() {
        // Mutation: E's second attempt wrote different bytes to diffq.results.
        assertReports(f -> f.results.put(E, List.of("sha-e", "sha-other")), Violation.IMAGES);
    }

    @Test
    void a500AnswerIsAServerError() {
        // Mutation: a poll answered 500.
        assertReports(f -> f.op(f.answer(Op.Kind.POLL, 0, A, 500, false, null)), Violation.SERVER_ERROR);
    }

    @Test
    void a503WithoutRetryAfterIsAServerError() {
        // Mutation: a submit answered 503 without Retry-After.
        assertReports(f -> f.op(new Op(4, Op.LOAD, Op.Kind.SUBMIT, 0, "client-a", null, "h", null, 5000, 5100, 30_000,
                Op.Outcome.ANSWERED, 503, false, false, null, 0, null)), Violation.SERVER_ERROR);
    }

    @Test
    void aRequestWithoutAnAnswerWithinItsTimeoutIsHung() {
        // Mutation: a poll that never came back.
        assertReports(f -> f.op(new Op(3, Op.LOAD, Op.Kind.POLL, 1, "client-a", null, null, A, 5000, 50_000, 45_000,
                Op.Outcome.TIMEOUT, -1, false, false, null, 0, null)), Violation.HUNG_REQUEST);
    }

    @Test
    void anIllegalTransitionOnTheTopicIsReported() {
        // Mutation: a worker wrote A's SUCCEEDED without its RUNNING (QUEUED -> SUCCEEDED).
        assertReports(f -> f.events.get(A).remove(0), Violation.TRANSITION_ORDER);
    }

    @Test
    void aGatewayGoingBackFromATerminalStateIsReported() {
        // Mutation: gateway 0 showed A RUNNING after it had shown SUCCEEDED.
        assertReports(f -> f.op(f.answer(Op.Kind.POLL, 0, A, 200, false, "RUNNING").withState("RUNNING", 1)),
                Violation.TRANSITION_ORDER);
    }

    /**
     * The shapes of the defects the campaign found before the worker fenced its writes (docs/testing.md,
     * "Findings"): a later attempt ending otherwise, and an attempt writing again after its own terminal event,
     * are violations like any other.
     */
    @Test
    void aSecondTerminalStateOrAnAttemptWritingAfterItsOwnEndIsAViolation() {
        assertThat(invariants(f -> f.event(E, JobEvent.canceled(E, 3, at(2600), "worker-2", "simulated", at(2700)))))
                .as("a later attempt ending otherwise").containsExactly(Violation.ONE_TERMINAL_STATE);
        assertThat(invariants(f -> f.event(E, JobEvent.running(E, 2, at(2500), "worker-2", "simulated",
                new Progress(2, 4), at(2600))))).as("attempt 2 again after its own terminal event")
                .containsExactly(Violation.TRANSITION_ORDER);
    }

    /**
     * An older attempt's event written after a newer attempt's terminal one (a worker paused past its lock whose
     * write was already in its producer, campaign seed 2) is a late write: reported, refused by every reader, and
     * harmless as long as compaction cannot let it replace the newer attempt's terminal event. Keyed as the
     * worker keys events (per attempt) it cannot; keyed by the job id alone, a restarted gateway would show the
     * job RUNNING for ever.
     */
    @Test
    void aLateWriteOfAnOlderAttemptIsHarmlessOnlyWhileCompactionKeepsEveryAttemptsLastEvent() {
        Consumer<Fixture> late = f -> f.event(D, JobEvent.running(D, 1, at(1200), "worker-1", "simulated",
                new Progress(2, 4), at(1600)));
        Fixture f = new Fixture();
        late.accept(f);
        assertThat(ChaosChecker.check(f.input())).isEmpty();
        assertThat(f.input().topics().lateWrites()).extracting(JobEvent::attempt).containsExactly(1);

        assertThat(invariants(late.andThen(g -> g.keyOf = JobEvent::jobId)))
                .as("events keyed by job id only").contains(Violation.COMPACTION);
    }

    /**
     * An older attempt's late terminal event between a newer attempt's start and end: what compaction keeps must
     * still hold the newer attempt's start before it, or a restarted gateway would take the late one for the
     * job's end.
     */
    @Test
    void aLateEndBetweenANewerAttemptsStartAndEndIsHarmlessOnlyWhileCompactionKeepsThatStart() {
        // D: attempt 2 starts, attempt 1's worker (paused past its lock) writes CANCELED late, attempt 2 goes on
        // and its worker is lost; attempt 3 fails the job.
        Consumer<Fixture> late = f -> f.events.put(D, new ArrayList<>(List.of(
                JobEvent.running(D, 1, at(1200), "worker-1", "simulated", new Progress(0, 4), at(1200)),
                JobEvent.running(D, 2, at(1300), "worker-2", "simulated", new Progress(0, 4), at(1300)),
                JobEvent.canceled(D, 1, at(1200), "worker-1", "simulated", at(1310)),
                JobEvent.running(D, 2, at(1300), "worker-2", "simulated", new Progress(2, 4), at(1320)),
                JobEvent.running(D, 3, at(1400), "worker-3", "simulated", new Progress(0, 4), at(1400)),
                JobEvent.failed(D, 3, at(1400), "worker-3", "simulated", null, 10L,
                        JobFailure.fatal("model-error", "failed (attempt 3 of 3)"), at(1500)))));
        Fixture f = new Fixture();
        late.accept(f);
        assertThat(ChaosChecker.check(f.input())).isEmpty();
        assertThat(f.input().topics().lateWrites()).extracting(JobEvent::state).containsExactly(JobState.CANCELED);

        // Keyed per attempt, without the start of each: compaction keeps attempt 1's late CANCELED before
        // anything left of attempts 2 and 3, their last events, which a reader then refuses.
        assertThat(invariants(late.andThen(g -> g.keyOf = e -> e.attempt() <= 1 ? e.jobId()
                : e.jobId() + "#" + e.attempt()))).as("events keyed per attempt only").contains(Violation.COMPACTION);
    }

    /** The invariant of each violation after the mutation. */
    private static List<String> invariants(Consumer<Fixture> mutation) {
        Fixture f = new Fixture();
        mutation.accept(f);
        return ChaosChecker.check(f.input()).stream().map(Violation::invariant).toList();
    }

    private static void assertReports(Consumer<Fixture> mutation, String invariant) {
        Fixture f = new Fixture();
        mutation.accept(f);
        List<Violation> violations = ChaosChecker.check(f.input());
        Set<String> invariants = violations.stream().map(Violation::invariant).collect(Collectors.toCollection(TreeSet::new));
        assertThat(invariants).as("%s", violations).containsExactly(invariant);
    }

    private static Instant at(long ms) {
        return Instant.ofEpochMilli(ms);
    }

    private static JobEvent succeeded(String id, int attempt, Instant at, String sha) {
        return JobEvent.succeeded(id, attempt, at, "worker-1", "simulated", new Progress(4, 4), 100,
                new ResultRef(0, sha.hashCode(), "image/png", 100), at);
    }

    /** A clean campaign: five jobs, each taking a path a campaign takes, seen by both gateways. */
    private static final class Fixture {
        final List<Op> history = new ArrayList<>();
        final Map<String, List<JobEvent>> events = new LinkedHashMap<>();
        final Set<String> deadLettered = new TreeSet<>();
        final Map<String, List<String>> results = new HashMap<>();
        final Map<String, String> prompts = new HashMap<>();
        private long clock = 100;

        Fixture() {
            // A: plain submit, seen RUNNING on gateway 1, SUCCEEDED.
            op(submit(0, A, "a", null, 202, false));
            events.put(A, new ArrayList<>(List.of(
                    JobEvent.running(A, 1, at(300), "worker-1", "simulated", new Progress(0, 4), at(300)),
                    succeeded(A, 1, at(600), "sha-a"))));
            op(answer(Op.Kind.POLL, 1, A, 200, false, "RUNNING").withState("RUNNING", 1));
            results.put(A, List.of("sha-a"));
            prompts.put(A, "a");
            // B: one key, three concurrent submits: created, replayed, a different body refused.
            op(submit(1, B, "b", "key-1", 202, false));
            op(submit(2, B, "b", "key-1", 202, true));
            op(submit(2, null, "b-other", "key-1", 422, false));
            events.put(B, new ArrayList<>(List.of(
                    JobEvent.running(B, 1, at(700), "worker-2", "simulated", new Progress(0, 4), at(700)),
                    succeeded(B, 1, at(900), "sha-b"))));
            results.put(B, List.of("sha-b"));
            prompts.put(B, "b");
            // C: canceled while queued, never ran.
            op(submit(0, C, "c", null, 202, false));
            op(answer(Op.Kind.CANCEL, 0, C, 202, false, "QUEUED"));
            events.put(C, new ArrayList<>(List.of(JobEvent.canceled(C, 1, at(1100), "worker-1", "simulated",
                    at(1100)))));
            prompts.put(C, "c");
            // D: fails every attempt and is dead-lettered.
            op(submit(1, D, "d chaos-fail", null, 202, false));
            events.put(D, new ArrayList<>(List.of(
                    JobEvent.running(D, 1, at(1200), "worker-1", "simulated", new Progress(0, 4), at(1200)),
                    JobEvent.running(D, 2, at(1300), "worker-2", "simulated", new Progress(0, 4), at(1300)),
                    JobEvent.running(D, 3, at(1400), "worker-3", "simulated", new Progress(0, 4), at(1400)),
                    JobEvent.failed(D, 3, at(1400), "worker-3", "simulated", null, 10L,
                            JobFailure.fatal("model-error", "failed (attempt 3 of 3)"), at(1500)))));
            deadLettered.add(D);
            prompts.put(D, "d chaos-fail");
            // E: succeeded, its worker was killed before the commit, ran again with the same bytes.
            op(submit(2, E, "e", null, 200, false));
            events.put(E, new ArrayList<>(List.of(
                    JobEvent.running(E, 1, at(1600), "worker-1", "simulated", new Progress(0, 4), at(1600)),
                    succeeded(E, 1, at(1600), "sha-e"),
                    JobEvent.running(E, 2, at(2500), "worker-2", "simulated", new Progress(0, 4), at(2500)),
                    succeeded(E, 2, at(2500), "sha-e"))));
            results.put(E, List.of("sha-e", "sha-e"));
            prompts.put(E, "e");
            // A 503 with Retry-After during a broker fault: refused, no job.
            op(submit(0, null, "g", null, 503, true));
            // After quiescence: every job polled, every image fetched, on both gateways.
            clock = 10_000;
            for (String id : List.of(A, B, C, D, E)) {
                JobEvent terminal = events.get(id).stream().filter(e -> e.state().isTerminal()).findFirst().orElseThrow();
                for (int g = 0; g < 2; g++) {
                    op(finalOp(Op.Kind.POLL, g, id, terminal.state().name(), null));
                    if (results.containsKey(id)) {
                        op(finalOp(Op.Kind.IMAGE, g, id, null, results.get(id).get(0)));
                    }
                }
            }
        }

        /** The key each event is written under, as the worker keys them. */
        Function<JobEvent, String> keyOf = JobKeys::event;

        CheckInput input() {
            List<TopicContents.Keyed> log = new ArrayList<>();
            events.values().forEach(es -> es.forEach(e -> log.add(new TopicContents.Keyed(keyOf.apply(e), e))));
            return new CheckInput(List.copyOf(history), TopicContents.of(log, deadLettered, results, prompts),
                    MAX_ATTEMPTS);
        }

        void op(Op op) {
            history.add(op);
        }

        void event(String id, JobEvent e) {
            events.get(id).add(e);
        }

        void replace(Predicate<Op> which, UnaryOperator<Op> how) {
            history.replaceAll(op -> which.test(op) ? how.apply(op) : op);
        }

        Op submit(int gateway, String id, String prompt, String key, int status, boolean replayed) {
            long start = clock += 10;
            return new Op(1, Op.LOAD, Op.Kind.SUBMIT, gateway, "client-a", key, prompt, id, start, clock += 20,
                    30_000, Op.Outcome.ANSWERED, status, status == 503, replayed,
                    status == 200 ? "SUCCEEDED" : null, 0, null);
        }

        Op answer(Op.Kind kind, int gateway, String id, int status, boolean retryAfter, String state) {
            long start = clock += 10;
            return new Op(2, Op.LOAD, kind, gateway, "client-a", null, null, id, start, clock += 20, 30_000,
                    Op.Outcome.ANSWERED, status, retryAfter, false, state, state == null ? 0 : 1, null);
        }

        Op finalOp(Op.Kind kind, int gateway, String id, String state, String sha) {
            long start = clock += 10;
            return new Op(-1, Op.FINAL, kind, gateway, "client-a", null, null, id, start, clock += 20, 30_000,
                    Op.Outcome.ANSWERED, 200, false, false, state, 1, sha);
        }
    }
}
