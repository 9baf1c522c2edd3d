package io.diffq.system;

import java.util.Arrays;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * The pure parts of the benchmark's {@code hol} scenario: seeded Poisson arrivals, and the ideal shared queue
 * those arrivals would meet (one FIFO queue from which any free worker takes the next job, nothing added around
 * the jobs' own times), against which the real queue's waits are compared.
 */
final class BenchQueueModel {

    /**
     * The arrival times (ms from 0, increasing) of a Poisson process of {@code ratePerSecond} over
     * {@code seconds}: exponential gaps drawn from {@code seed}, so the same seed gives the same arrivals.
     */
    static double[] poissonArrivalsMs(long seed, double ratePerSecond, double seconds) {
        SplittableRandom random = new SplittableRandom(seed);
        double meanGapMs = 1000.0 / ratePerSecond;
        double endMs = seconds * 1000.0;
        double[] out = new double[16];
        int n = 0;
        double t = -Math.log1p(-random.nextDouble()) * meanGapMs;
        while (t < endMs) {
            if (n == out.length) {
                out = Arrays.copyOf(out, 2 * n);
            }
            out[n++] = t;
            t += -Math.log1p(-random.nextDouble()) * meanGapMs;
        }
        return Arrays.copyOf(out, n);
    }

    /**
     * Each job's wait in an ideal shared queue with {@code servers} workers: jobs start in order of arrival
     * (FIFO), each on the worker that frees first, as soon as one is free, and take exactly their service time
     * (an M/G/c queue when arrivals are Poisson). {@code arrivalsMs[i]} and {@code serviceMs[i]} are job i's;
     * the arrivals need not be sorted (ties keep their index order); the waits come back in the jobs' order.
     */
    static double[] idealWaitsMs(double[] arrivalsMs, double[] serviceMs, int servers) {
        if (arrivalsMs.length != serviceMs.length || servers < 1) {
            throw new IllegalArgumentException("one service time per arrival, and at least one server");
        }
        Integer[] order = new Integer[arrivalsMs.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(arrivalsMs[a], arrivalsMs[b]));
        // When each worker is next free; a worker never used is free from the start.
        PriorityQueue<Double> freeAt = new PriorityQueue<>();
        for (int s = 0; s < servers; s++) {
            freeAt.add(Double.NEGATIVE_INFINITY);
        }
        double[] waits = new double[arrivalsMs.length];
        for (int i : order) {
            double start = Math.max(arrivalsMs[i], freeAt.poll());
            waits[i] = start - arrivalsMs[i];
            freeAt.add(start + serviceMs[i]);
        }
        return waits;
    }

    /** The mean of a sample, 0 for none. */
    static double mean(double[] v) {
        return v.length == 0 ? 0 : Arrays.stream(v).sum() / v.length;
    }

    private BenchQueueModel() {
    }
}
