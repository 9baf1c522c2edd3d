package io.diffq.common.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class SimulatedJobTimeTests {

    private static final long MEAN = 400_000_000L;

    @Test
    void theSameSeedTakesTheSameTimeAndNeighbouringSeedsDoNot() {
        assertThat(SimulatedJobTime.exponentialNanos(42, MEAN)).isEqualTo(SimulatedJobTime.exponentialNanos(42, MEAN))
                .isNotEqualTo(SimulatedJobTime.exponentialNanos(43, MEAN));
    }

    @Test
    void overManySeedsTheMeanIsTheLatencyAndTheCoefficientOfVariationIsOne() {
        int n = 200_000;
        double sum = 0;
        double sumSq = 0;
        long below = 0;
        for (long seed = 1; seed <= n; seed++) {
            double x = SimulatedJobTime.exponentialNanos(seed, MEAN) / (double) MEAN;
            sum += x;
            sumSq += x * x;
            below += x < Math.log(2) ? 1 : 0;
        }
        double mean = sum / n;
        double sd = Math.sqrt(sumSq / n - mean * mean);
        assertThat(mean).isCloseTo(1.0, within(0.01));
        assertThat(sd / mean).isCloseTo(1.0, within(0.02));
        // An exponential's median is ln 2 times its mean: half the jobs are shorter than that.
        assertThat(below / (double) n).isCloseTo(0.5, within(0.005));
    }

    @Test
    void itsUniformDrawIsSplitMix64sFirstOutputForTheSeed() {
        // SplitMix64 (Steele, Lea, Flood 2014) from state 0 first gives 0xE220A8397B1DCDAF, a published value.
        double u = SimulatedJobTime.uniform(0);
        assertThat(u).isEqualTo((0xE220A8397B1DCDAFL >>> 11) * 0x1.0p-53);
        assertThat(SimulatedJobTime.exponentialNanos(0, MEAN)).isEqualTo(Math.round(-Math.log(1 - u) * MEAN));
        assertThat(SimulatedJobTime.exponentialNanos(0, 0)).isZero();
    }
}
