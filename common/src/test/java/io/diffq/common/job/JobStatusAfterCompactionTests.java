package io.diffq.common.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A reader of the compacted {@code diffq.job-events} sees a job's request and only its last event, in either
 * order, and must show the job as a reader of its whole history does; what contradicts a status is still
 * refused (issue 30).
 */
class JobStatusAfterCompactionTests {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Instant S1 = T0.plusSeconds(1);
    private static final Instant S2 = T0.plusSeconds(30);

    private static final JobRequest REQUEST = new JobRequest("j1", "a red circle", "", 32, 32, 4, 7.5, 42, "tiny",
            null, T0, null, null);

    /** What a worker writes for a job that ends (or stands) in each state, in order. */
    static Stream<Arguments> histories() {
        return Stream.of(
                Arguments.of("SUCCEEDED", List.of(running(1, S1, 0), running(1, S1, 2),
                        JobEvent.succeeded("j1", 1, S1, "w1", "tiny", new Progress(4, 4), 900,
                                new ResultRef(0, 7, "image/png", 100), S1.plusSeconds(2)))),
                Arguments.of("FAILED", List.of(running(1, S1, 0), running(1, S1, 1),
                        JobEvent.failed("j1", 1, S1, "w1", "tiny", new Progress(1, 4), 400L,
                                JobFailure.fatal("model-error", "boom"), S1.plusSeconds(2)))),
                Arguments.of("CANCELED while running", List.of(running(1, S1, 0), running(1, S1, 2),
                        JobEvent.canceled("j1", 1, S1, "w1", "tiny", S1.plusSeconds(2)))),
                Arguments.of("CANCELED before it started", List.of(JobEvent.canceled("j1", 1, S1, "w1", "tiny", S1))),
                Arguments.of("EXPIRED", List.of(JobEvent.expired("j1", "w1", "tiny", S1))),
                Arguments.of("SUCCEEDED on its second attempt", List.of(running(1, S1, 0), running(2, S2, 0),
                        running(2, S2, 3), JobEvent.succeeded("j1", 2, S2, "w2", "tiny", new Progress(4, 4), 800,
                                new ResultRef(1, 9, "image/png", 100), S2.plusSeconds(2)))),
                Arguments.of("FAILED on its second attempt", List.of(running(1, S1, 0), running(2, S2, 0),
                        JobEvent.failed("j1", 2, S2, "w2", "tiny", new Progress(0, 4), 10L,
                                JobFailure.fatal("attempts-exhausted", "lost twice"), S2.plusSeconds(1)))),
                Arguments.of("RUNNING", List.of(running(1, S1, 0), running(1, S1, 1), running(1, S1, 3))),
                Arguments.of("RUNNING its second attempt", List.of(running(1, S1, 0), running(1, S1, 1),
                        running(2, S2, 0), running(2, S2, 2))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("histories")
    void theRequestThenTheLastEventShowTheJobAsItsWholeHistoryDoes(String name, List<JobEvent> history) {
        JobStatus compacted = JobStatus.queued(REQUEST).apply(last(history));

        assertSameJob(compacted, whole(history));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("histories")
    void theLastEventThenTheRequestShowTheJobAsItsWholeHistoryDoes(String name, List<JobEvent> history) {
        // As the status view folds an event of a job it does not know yet, and the request read after it.
        JobStatus compacted = JobStatus.fromSnapshot(last(history)).withRequest(REQUEST);

        assertSameJob(compacted, whole(history));
        assertThat(compacted).isEqualTo(JobStatus.queued(REQUEST).apply(last(history)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("histories")
    void theFirstEventThenTheLastShowTheJobAsItsWholeHistoryDoes(String name, List<JobEvent> history) {
        assumeTrue(history.size() > 2, "nothing lies between the first event and the last");
        // A reader that read the first event before the cleaner removed the ones between it and the last.
        JobStatus s = JobStatus.queued(REQUEST).apply(history.get(0)).apply(last(history));

        assertSameJob(s, whole(history));
    }

    @Test
    void aFinishedJobNeverTakesAnotherTerminalState() {
        List<JobEvent> terminals = List.of(
                JobEvent.succeeded("j1", 1, S1, "w1", "tiny", null, 1, new ResultRef(0, 1, "image/png", 1), S2),
                JobEvent.failed("j1", 1, S1, "w1", "tiny", null, 1L, JobFailure.fatal("model-error", "boom"), S2),
                JobEvent.canceled("j1", 1, S1, "w1", "tiny", S2),
                JobEvent.expired("j1", "w1", "tiny", S2));
        for (JobEvent first : terminals) {
            for (JobStatus done : List.of(JobStatus.queued(REQUEST).apply(first), JobStatus.fromSnapshot(first))) {
                for (JobEvent second : terminals) {
                    assertThatThrownBy(() -> done.apply(second)).as(first.state() + " then " + second.state())
                            .isInstanceOfSatisfying(IllegalJobTransitionException.class, e -> {
                                assertThat(e.from()).isEqualTo(first.state());
                                assertThat(e.to()).isEqualTo(second.state());
                            });
                }
            }
        }
    }

    @Test
    void aFinishedJobNeverRunsAgain() {
        JobStatus done = JobStatus.fromSnapshot(
                JobEvent.succeeded("j1", 1, S1, "w1", "tiny", null, 1, new ResultRef(0, 1, "image/png", 1), S2));

        assertThatThrownBy(() -> done.apply(running(2, S2, 0))).isInstanceOf(IllegalJobTransitionException.class);
        assertThatThrownBy(() -> done.withRequest(REQUEST).apply(running(2, S2, 0)))
                .isInstanceOf(IllegalJobTransitionException.class);
    }

    @Test
    void anOlderAttemptNeverReplacesANewerOne() {
        for (JobStatus second : List.of(JobStatus.queued(REQUEST).apply(running(2, S2, 1)),
                JobStatus.fromSnapshot(running(2, S2, 1)))) {
            assertThatThrownBy(() -> second.apply(running(1, S1, 3)))
                    .isInstanceOf(IllegalJobTransitionException.class)
                    .hasMessageContaining("attempt 1 after attempt 2");
        }
    }

    @Test
    void aStartedJobCannotExpireAndNothingReturnsToQueued() {
        JobStatus started = JobStatus.queued(REQUEST).apply(running(1, S1, 0));
        JobEvent queued = new JobEvent("j1", JobState.QUEUED, 1, S2, null, null, "tiny", null, null, null, null);

        assertThatThrownBy(() -> started.apply(JobEvent.expired("j1", "w1", "tiny", S2)))
                .isInstanceOf(IllegalJobTransitionException.class);
        assertThatThrownBy(() -> started.apply(queued)).isInstanceOf(IllegalJobTransitionException.class);
        assertThatThrownBy(() -> JobStatus.queued(REQUEST).apply(queued))
                .isInstanceOf(IllegalJobTransitionException.class);
    }

    private static JobEvent running(int attempt, Instant startedAt, int step) {
        return JobEvent.running("j1", attempt, startedAt, "w" + attempt, "tiny", new Progress(step, 4),
                startedAt.plusMillis(100L * step));
    }

    private static JobEvent last(List<JobEvent> history) {
        return history.get(history.size() - 1);
    }

    /** The job as a reader of its whole history, in order, shows it. */
    private static JobStatus whole(List<JobEvent> history) {
        JobStatus s = JobStatus.queued(REQUEST);
        for (JobEvent e : history) {
            s = s.apply(e);
        }
        return s;
    }

    private static void assertSameJob(JobStatus actual, JobStatus expected) {
        assertThat(actual).usingRecursiveComparison()
                // A CANCELED event carries no progress: the one the job had reached is lost with the events before.
                .ignoringFields(expected.state() == JobState.CANCELED ? new String[] {"progress"} : new String[0])
                .isEqualTo(expected);
    }
}
