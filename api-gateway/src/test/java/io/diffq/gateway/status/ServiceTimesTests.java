package io.diffq.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ServiceTimesTests {

    private static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");

    private final ServiceTimes times = new ServiceTimes();

    @Test
    void nothingIsKnownBeforeAJobFinished() {
        assertThat(times.mean("tiny")).isEmpty();
    }

    @Test
    void jobsOneAfterAnotherCostTheirOwnTime() {
        finish("w1/gpu0", "sd", 0, 10_000);
        finish("w1/gpu0", "sd", 10_050, 22_050);
        finish("w1/gpu0", "sd", 22_100, 30_100);

        assertThat(times.mean("sd")).hasValue(Duration.ofSeconds(10));
    }

    @Test
    void aBatchCostsItsTimeOnceSharedByItsJobsInWhateverOrderTheirEventsArrive() {
        // A batch of 4 on one device: each delivery starts just before the model, the model takes 2 s, and each
        // job ends once its own picture is encoded, a few milliseconds after the one before it.
        finish("w1/gpu0", "tiny", 1, 2_020);
        finish("w1/gpu0", "tiny", 0, 2_000);
        finish("w1/gpu0", "tiny", 2, 2_030);
        finish("w1/gpu0", "tiny", 1, 2_010);

        // 2.03 s of the device over 4 jobs, where each job's own duration says about 2 s.
        assertThat(times.mean("tiny")).hasValue(Duration.ofMillis(2_030).dividedBy(4));
    }

    @Test
    void devicesRunningAtTheSameTimeAreBusySeparately() {
        finish("w1/gpu0", "tiny", 0, 1_000);
        finish("w1/gpu0", "tiny", 0, 1_000);
        finish("w1/gpu1", "tiny", 0, 1_000);
        finish("w2/gpu0", "tiny", 0, 1_000);

        // Two jobs batched on w1/gpu0 cost 0.5 s each; the lone jobs on the other devices 1 s each.
        assertThat(times.mean("tiny")).hasValue(Duration.ofMillis(750));
    }

    @Test
    void aBatchMemberArrivingAfterTheNextBatchStartedStillSharesItsBatch() {
        finish("w1/gpu0", "tiny", 0, 2_000);
        finish("w1/gpu0", "tiny", 2_100, 4_100);
        finish("w1/gpu0", "tiny", 0, 2_005);
        finish("w1/gpu0", "tiny", 2_100, 4_100);

        assertThat(times.mean("tiny")).hasValue(Duration.ofMillis(4_005).dividedBy(4));
    }

    @Test
    void modelsAreMeasuredApart() {
        finish("w1/gpu0", "sd", 0, 12_000);
        finish("w1/gpu0", "tiny", 12_000, 12_400);

        assertThat(times.mean("sd")).hasValue(Duration.ofSeconds(12));
        assertThat(times.mean("tiny")).hasValue(Duration.ofMillis(400));
    }

    @Test
    void aJobThatNeverStartedCostsNothing() {
        finish("w1/gpu0", "sd", 0, 10_000);
        times.finished("w1/gpu0", "sd", null, T0.plusSeconds(11));

        assertThat(times.mean("sd")).hasValue(Duration.ofSeconds(5));
    }

    @Test
    void onlyTheLatestJobsCount() {
        long t = 0;
        for (int i = 0; i < ServiceTimes.WINDOW; i++, t += 1_000) {
            finish("w1/gpu0", "sd", t, t + 1_000);
        }
        for (int i = 0; i < ServiceTimes.WINDOW; i++, t += 3_000) {
            finish("w1/gpu0", "sd", t, t + 3_000);
        }

        assertThat(times.mean("sd")).hasValue(Duration.ofSeconds(3));
    }

    private void finish(String device, String model, long startMillis, long endMillis) {
        times.finished(device, model, T0.plusMillis(startMillis), T0.plusMillis(endMillis));
    }
}
