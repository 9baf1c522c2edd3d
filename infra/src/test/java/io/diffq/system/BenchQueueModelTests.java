package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BenchQueueModelTests {

    @Test
    void aHandCheckedCaseWithTwoWorkers() {
        // a (t=0, 5 long) and b (t=1, 2 long) start at once; c (t=2) waits for b's worker, free at 3, until 7;
        // d (t=2.5) for a's, free at 5, until 6; e (t=3.5) for the first free again: d's at 6, not c's at 7.
        double[] arrivals = {0, 1, 2, 2.5, 3.5};
        double[] service = {5, 2, 4, 1, 1};
        assertThat(BenchQueueModel.idealWaitsMs(arrivals, service, 2)).containsExactly(0, 0, 1, 2.5, 2.5);
    }

    @Test
    void theArrivalsNeedNotBeSortedAndTheWaitsComeBackInTheJobsOrder() {
        double[] arrivals = {2.5, 0, 3.5, 1, 2};
        double[] service = {1, 5, 1, 2, 4};
        assertThat(BenchQueueModel.idealWaitsMs(arrivals, service, 2)).containsExactly(2.5, 0, 2.5, 0, 1);
    }

    @Test
    void withOneWorkerItIsTheLindleyRecursion() {
        SplittableRandom r = new SplittableRandom(1);
        int n = 2000;
        double[] arrivals = new double[n];
        double[] service = new double[n];
        double t = 0;
        for (int i = 0; i < n; i++) {
            t += r.nextDouble(0, 10);
            arrivals[i] = t;
            service[i] = r.nextDouble(0, 9.5);
        }
        double[] waits = BenchQueueModel.idealWaitsMs(arrivals, service, 1);
        double w = 0;
        assertThat(waits[0]).isZero();
        for (int i = 1; i < n; i++) {
            // W(i) = max(0, W(i-1) + S(i-1) - (A(i) - A(i-1)))
            w = Math.max(0, w + service[i - 1] - (arrivals[i] - arrivals[i - 1]));
            assertThat(waits[i]).isCloseTo(w, within(1e-9));
        }
    }

    @Test
    void asManyWorkersAsJobsMeanNoWaitAndMoreWorkersNeverWaitLonger() {
        double[] arrivals = BenchQueueModel.poissonArrivalsMs(3, 8, 60);
        double[] service = new double[arrivals.length];
        SplittableRandom r = new SplittableRandom(4);
        for (int i = 0; i < service.length; i++) {
            service[i] = -Math.log1p(-r.nextDouble()) * 400;
        }
        assertThat(BenchQueueModel.idealWaitsMs(arrivals, service, arrivals.length)).containsOnly(0.0);
        double[] three = BenchQueueModel.idealWaitsMs(arrivals, service, 3);
        double[] four = BenchQueueModel.idealWaitsMs(arrivals, service, 4);
        for (int i = 0; i < arrivals.length; i++) {
            assertThat(four[i]).isLessThanOrEqualTo(three[i]);
        }
        assertThat(BenchQueueModel.mean(four)).isLessThan(BenchQueueModel.mean(three));
    }

    @Test
    void mm4AtEightyPercentWaitsAsErlangCSays() {
        // M/M/4, arrivals 8/s, mean service 0.4 s: Erlang C gives P(wait) = 0.5964 and a mean wait of
        // P(wait) / (c·mu − lambda) = 0.5964 / (10 − 8) s = 298 ms.
        double[] arrivals = BenchQueueModel.poissonArrivalsMs(5, 8, 20_000);
        double[] service = new double[arrivals.length];
        SplittableRandom r = new SplittableRandom(6);
        for (int i = 0; i < service.length; i++) {
            service[i] = -Math.log1p(-r.nextDouble()) * 400;
        }
        double[] waits = BenchQueueModel.idealWaitsMs(arrivals, service, 4);
        assertThat(BenchQueueModel.mean(waits)).isCloseTo(298, within(20.0));
        long waited = java.util.Arrays.stream(waits).filter(w -> w > 0).count();
        assertThat(waited / (double) waits.length).isCloseTo(0.596, within(0.02));
    }

    @Test
    void poissonArrivalsAreSeededIncreasingAndOfTheRate() {
        double[] a = BenchQueueModel.poissonArrivalsMs(29, 8, 1000);
        assertThat(a).isEqualTo(BenchQueueModel.poissonArrivalsMs(29, 8, 1000))
                .isNotEqualTo(BenchQueueModel.poissonArrivalsMs(30, 8, 1000));
        assertThat(a.length).isBetween(7_750, 8_250); // 8000 expected, sd about 90
        assertThat(a[a.length - 1]).isLessThan(1_000_000);
        double sum = 0;
        double sumSq = 0;
        for (int i = 1; i < a.length; i++) {
            double gap = a[i] - a[i - 1];
            assertThat(gap).isPositive();
            sum += gap;
            sumSq += gap * gap;
        }
        double mean = sum / (a.length - 1);
        double cv = Math.sqrt(sumSq / (a.length - 1) - mean * mean) / mean;
        assertThat(mean).isCloseTo(125, within(4.0));
        assertThat(cv).isCloseTo(1.0, within(0.05)); // exponential gaps
    }
}
