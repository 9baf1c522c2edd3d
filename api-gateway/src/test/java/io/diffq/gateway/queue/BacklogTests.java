package io.diffq.gateway.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BacklogTests {

    private final BacklogProperties properties = new BacklogProperties(Duration.ofSeconds(2),
            Map.of("tiny", Duration.ofMillis(400)));

    @Test
    void nothingWaitingIsZero() {
        assertThat(Backlog.seconds(Map.of(), m -> Optional.of(Duration.ofSeconds(10)), properties)).isZero();
        assertThat(Backlog.drainSeconds(0, 0)).isZero();
    }

    @Test
    void beforeAnyJobFinishedEachModelCountsItsDefault() {
        double backlog = Backlog.seconds(Map.of("simulated", 37L, "tiny", 10L), m -> Optional.empty(), properties);

        assertThat(backlog).isCloseTo(37 * 2.0 + 10 * 0.4, within(1e-9));
    }

    @Test
    void aMeasuredModelCountsItsMeasuredTime() {
        Map<String, Duration> measured = Map.of("sd", Duration.ofSeconds(12));

        double backlog = Backlog.seconds(Map.of("sd", 3L, "tiny", 10L),
                m -> Optional.ofNullable(measured.get(m)), properties);

        assertThat(backlog).isCloseTo(3 * 12.0 + 10 * 0.4, within(1e-9));
    }

    @Test
    void waitingJobsShowEvenWhenTheirModelCostNothingLately() {
        double backlog = Backlog.seconds(Map.of("sd", 5L), m -> Optional.of(Duration.ZERO), properties);

        assertThat(backlog).isCloseTo(5 * Backlog.FLOOR_MILLIS / 1000.0, within(1e-12)).isPositive();
    }

    @Test
    void drainTimeIsTheBacklogOverTheWorkersAndInfiniteWithNone() {
        assertThat(Backlog.drainSeconds(74, 2)).isEqualTo(37);
        assertThat(Backlog.drainSeconds(74, 0)).isEqualTo(Double.POSITIVE_INFINITY);
    }

    @Test
    void defaultsMustBePositive() {
        assertThatThrownBy(() -> new BacklogProperties(Duration.ZERO, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("default-service-time");
        assertThatThrownBy(() -> new BacklogProperties(Duration.ofSeconds(1), Map.of("sd", Duration.ofSeconds(-1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("default-service-times.sd");
    }
}
