package io.diffq.common.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class JobTransitionsTests {

    @Test
    void theTableIsTheDesignedOne() {
        assertThat(next(JobState.QUEUED))
                .containsExactlyInAnyOrder(JobState.RUNNING, JobState.CANCELED, JobState.EXPIRED);
        assertThat(next(JobState.RUNNING))
                .containsExactlyInAnyOrder(JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED);
    }

    @ParameterizedTest
    @EnumSource(value = JobState.class, names = {"SUCCEEDED", "FAILED", "CANCELED", "EXPIRED"})
    void terminalStatesLeadNowhere(JobState terminal) {
        assertThat(terminal.isTerminal()).isTrue();
        assertThat(next(terminal)).isEmpty();
        for (JobState to : JobState.values()) {
            assertThat(JobTransitions.isAllowed(terminal, to)).isFalse();
        }
    }

    @Test
    void nothingReturnsToQueued() {
        for (JobState from : EnumSet.allOf(JobState.class)) {
            assertThat(JobTransitions.isAllowed(from, JobState.QUEUED)).as(from + " -> QUEUED").isFalse();
        }
    }

    @Test
    void anIllegalMoveIsATypedException() {
        assertThatThrownBy(() -> JobTransitions.check("j", JobState.QUEUED, JobState.SUCCEEDED))
                .isInstanceOf(IllegalJobTransitionException.class)
                .hasMessageContaining("QUEUED -> SUCCEEDED");
    }

    @Test
    void aReaderReachesWhatTheTableLeadsToThroughTheStepsCompactionRemoved() {
        assertThat(reachable(JobState.QUEUED)).containsExactlyInAnyOrder(JobState.RUNNING, JobState.SUCCEEDED,
                JobState.FAILED, JobState.CANCELED, JobState.EXPIRED);
        assertThat(reachable(JobState.RUNNING))
                .containsExactlyInAnyOrder(JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED);
        for (JobState from : JobState.values()) {
            assertThat(reachable(from)).as("reachable from " + from).containsAll(next(from));
            assertThat(reachable(from)).as("reachable from " + from).doesNotContain(JobState.QUEUED);
            if (from.isTerminal()) {
                assertThat(reachable(from)).as("reachable from " + from).isEmpty();
            }
        }
    }

    @Test
    void aWriterStillMovesOneStepAtATime() {
        assertThat(JobTransitions.isReachable(JobState.QUEUED, JobState.SUCCEEDED)).isTrue();
        assertThatThrownBy(() -> JobTransitions.check("j", JobState.QUEUED, JobState.SUCCEEDED))
                .isInstanceOf(IllegalJobTransitionException.class);
        assertThatThrownBy(() -> JobTransitions.checkReachable("j", JobState.SUCCEEDED, JobState.FAILED))
                .isInstanceOf(IllegalJobTransitionException.class)
                .hasMessageContaining("SUCCEEDED -> FAILED");
    }

    /** The states the table leads to from {@code from} in one step or more. */
    private static Set<JobState> reachable(JobState from) {
        return EnumSet.allOf(JobState.class).stream()
                .filter(to -> JobTransitions.isReachable(from, to))
                .collect(Collectors.toCollection(() -> EnumSet.noneOf(JobState.class)));
    }

    /** The states the table lets follow {@code from}. */
    private static Set<JobState> next(JobState from) {
        return EnumSet.allOf(JobState.class).stream()
                .filter(to -> JobTransitions.isAllowed(from, to))
                .collect(Collectors.toCollection(() -> EnumSet.noneOf(JobState.class)));
    }
}
