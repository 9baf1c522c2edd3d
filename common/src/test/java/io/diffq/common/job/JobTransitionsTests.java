package io.diffq.common.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class JobTransitionsTests {

    @Test
    void theTableIsTheDesignedOne() {
        assertThat(JobTransitions.next(JobState.QUEUED))
                .containsExactlyInAnyOrder(JobState.RUNNING, JobState.CANCELED, JobState.EXPIRED);
        assertThat(JobTransitions.next(JobState.RUNNING))
                .containsExactlyInAnyOrder(JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED);
    }

    @ParameterizedTest
    @EnumSource(value = JobState.class, names = {"SUCCEEDED", "FAILED", "CANCELED", "EXPIRED"})
    void terminalStatesLeadNowhere(JobState terminal) {
        assertThat(terminal.isTerminal()).isTrue();
        assertThat(JobTransitions.next(terminal)).isEmpty();
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
}
