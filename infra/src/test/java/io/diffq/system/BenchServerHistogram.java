package io.diffq.system;

import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway's own latency histogram of one route ({@code http_server_requests_seconds_bucket}, Micrometer's
 * percentile histogram, which the gateway turns on), read from its Prometheus text: cumulative counts per upper
 * bound in seconds, summed over the label sets of the route's {@code 200}s. Two readings taken around a run give
 * that run's answers, timed by the gateway from its first filter to its last: the client's and the network's
 * waits left out.
 */
record BenchServerHistogram(TreeMap<Double, Long> cumulative) {

    private static final Pattern BUCKET = Pattern.compile(
            "^http_server_requests_seconds_bucket\\{((?:[^\"}]|\"[^\"]*\")*)} ([0-9.eE+-]+)$", Pattern.MULTILINE);
    private static final Pattern LE = Pattern.compile("le=\"([^\"]+)\"");

    /** The buckets of {@code uri}'s {@code GET}s answered {@code 200} in {@code prometheusText}. */
    static BenchServerHistogram read(String prometheusText, String uri) {
        TreeMap<Double, Long> counts = new TreeMap<>();
        Matcher m = BUCKET.matcher(prometheusText);
        while (m.find()) {
            String labels = m.group(1);
            if (!labels.contains("uri=\"" + uri + "\"") || !labels.contains("method=\"GET\"")
                    || !labels.contains("status=\"200\"")) {
                continue;
            }
            Matcher le = LE.matcher(labels);
            if (!le.find()) {
                continue;
            }
            double bound = le.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le.group(1));
            counts.merge(bound, (long) Double.parseDouble(m.group(2)), Long::sum);
        }
        return new BenchServerHistogram(counts);
    }

    /** The answers counted here and not in {@code before}. */
    BenchServerHistogram since(BenchServerHistogram before) {
        TreeMap<Double, Long> d = new TreeMap<>();
        cumulative.forEach((bound, n) -> d.put(bound, n - before.cumulative.getOrDefault(bound, 0L)));
        return new BenchServerHistogram(d);
    }

    long count() {
        return cumulative.isEmpty() ? 0 : cumulative.lastEntry().getValue();
    }

    /**
     * The upper bound, in milliseconds, of the bucket that holds quantile {@code q} (at most that long); NaN with
     * no answers, infinity when it lies past the last finite bound.
     */
    double quantileMs(double q) {
        long total = count();
        if (total == 0) {
            return Double.NaN;
        }
        double rank = Math.ceil(q * total);
        for (Map.Entry<Double, Long> e : cumulative.entrySet()) {
            if (e.getValue() >= rank) {
                return e.getKey() * 1000;
            }
        }
        return Double.POSITIVE_INFINITY;
    }
}
