package io.diffq.system;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/** Percentiles of a sample of durations in milliseconds, as the benchmark reports them (nearest rank). */
final class LatencyStats {

    static Map<String, Object> of(Collection<Double> millis) {
        double[] v = millis.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("count", v.length);
        if (v.length == 0) {
            return s;
        }
        s.put("p50", round(rank(v, 50)));
        s.put("p95", round(rank(v, 95)));
        s.put("p99", round(rank(v, 99)));
        s.put("max", round(v[v.length - 1]));
        double sum = 0;
        for (double x : v) {
            sum += x;
        }
        s.put("mean", round(sum / v.length));
        return s;
    }

    /** The smallest value at or above which lie at most (100 − p)% of the sample. */
    private static double rank(double[] sorted, double p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static double round(double x) {
        return Math.round(x * 100.0) / 100.0;
    }

    private LatencyStats() {
    }
}
