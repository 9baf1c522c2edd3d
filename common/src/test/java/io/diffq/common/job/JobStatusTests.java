package io.diffq.common.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class JobStatusTests {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private final JobRequest request = new JobRequest("j1", "a red circle", "", 32, 32, 20, 7.5, 42, "tiny", null,
            T0, null, null);

    @Test
    void aJobRunsAndSucceeds() {
        JobStatus s = JobStatus.queued(request)
                .apply(JobEvent.running("j1", 1, T0.plusSeconds(2), "w1", "tiny", new Progress(0, 20),
                        T0.plusSeconds(2)))
                .apply(JobEvent.running("j1", 1, T0.plusSeconds(2), "w1", "tiny", new Progress(10, 20),
                        T0.plusSeconds(3)))
                .apply(JobEvent.succeeded("j1", 1, T0.plusSeconds(2), "w1", "tiny", new Progress(20, 20), 900,
                        new ResultRef(3, 17, "image/png", 100), T0.plusSeconds(4)));

        assertThat(s.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(s.attempt()).isEqualTo(1);
        assertThat(s.startedAt()).isEqualTo(T0.plusSeconds(2));
        assertThat(s.progress()).isEqualTo(new Progress(20, 20));
        assertThat(s.result().offset()).isEqualTo(17);
        assertThat(s.queueWait(T0.plusSeconds(99)).toSeconds()).isEqualTo(2);
        assertThat(s.total(T0.plusSeconds(99)).toSeconds()).isEqualTo(4);
    }

    @Test
    void aRedeliveryStartsANewAttempt() {
        JobStatus s = JobStatus.queued(request)
                .apply(JobEvent.running("j1", 1, T0.plusSeconds(1), "w1", "tiny", null, T0.plusSeconds(1)))
                .apply(JobEvent.running("j1", 2, T0.plusSeconds(9), "w2", "tiny", null, T0.plusSeconds(9)));

        assertThat(s.attempt()).isEqualTo(2);
        assertThat(s.worker()).isEqualTo("w2");
        assertThat(s.startedAt()).isEqualTo(T0.plusSeconds(9));
    }

    @Test
    void anOlderAttemptCannotOverwriteANewerOne() {
        JobStatus s = JobStatus.queued(request).apply(JobEvent.running("j1", 2, T0, "w2", "tiny", null, T0));

        assertThatThrownBy(() -> s.apply(JobEvent.running("j1", 1, T0, "w1", "tiny", null, T0)))
                .isInstanceOf(IllegalJobTransitionException.class)
                .hasMessageContaining("attempt 1 after attempt 2");
    }

    @Test
    void anOlderAttemptCannotEndTheJobWhileANewerOneRuns() {
        // A worker paused past its lock wakes and writes its attempt's end after the next attempt started.
        JobStatus s = JobStatus.queued(request).apply(JobEvent.running("j1", 2, T0, "w2", "tiny", null, T0));

        assertThatThrownBy(() -> s.apply(JobEvent.succeeded("j1", 1, T0, "w1", "tiny", new Progress(4, 4), 10L,
                new ResultRef(0, 1, "image/png", 3), T0)))
                .isInstanceOf(IllegalJobTransitionException.class)
                .hasMessageContaining("attempt 1 after attempt 2");
        assertThat(s.apply(JobEvent.succeeded("j1", 2, T0, "w2", "tiny", new Progress(4, 4), 10L,
                new ResultRef(0, 1, "image/png", 3), T0)).state()).isEqualTo(JobState.SUCCEEDED);
    }

    @Test
    void aTerminalStateIsFinal() {
        JobStatus done = JobStatus.queued(request)
                .apply(JobEvent.running("j1", 1, T0, "w1", "tiny", null, T0))
                .apply(JobEvent.failed("j1", 1, T0, "w1", "tiny", null, 5L, JobFailure.fatal("model-error", "boom"),
                        T0));

        assertThatThrownBy(() -> done.apply(JobEvent.succeeded("j1", 1, T0, "w1", "tiny", null, 1, null, T0)))
                .isInstanceOfSatisfying(IllegalJobTransitionException.class, e -> {
                    assertThat(e.from()).isEqualTo(JobState.FAILED);
                    assertThat(e.to()).isEqualTo(JobState.SUCCEEDED);
                });
        assertThat(done.failure().message()).isEqualTo("boom");
    }

    @Test
    void noJobReturnsToQueued() {
        JobStatus running = JobStatus.queued(request).apply(JobEvent.running("j1", 1, T0, "w1", "tiny", null, T0));
        JobEvent queuedAgain = new JobEvent("j1", JobState.QUEUED, 1, T0, null, null, "tiny", null, null, null, null);

        assertThatThrownBy(() -> running.apply(queuedAgain))
                .isInstanceOfSatisfying(IllegalJobTransitionException.class, e -> {
                    assertThat(e.from()).isEqualTo(JobState.RUNNING);
                    assertThat(e.to()).isEqualTo(JobState.QUEUED);
                });
    }

    @Test
    void aReaderThatSeesOnlyTheLastEventRestoresTheJobFromIt() {
        JobStatus s = JobStatus.fromSnapshot(JobEvent.succeeded("j1", 2, T0.plusSeconds(5), "w1", "tiny",
                        new Progress(20, 20), 700, new ResultRef(1, 2, "image/png", 3), T0.plusSeconds(6)))
                .withRequest(request);

        assertThat(s.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(s.attempt()).isEqualTo(2);
        assertThat(s.request()).isEqualTo(request);
        assertThat(s.queueWait(T0).toSeconds()).isEqualTo(5);
        assertThat(s.total(T0).toSeconds()).isEqualTo(6);
    }
}
