package io.diffq.testing;

import java.util.Map;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

/** What tests read from a Kafka client's own metrics. */
public final class ClientMetrics {

    private ClientMetrics() {
    }

    /** The fetch requests a consumer has made so far ({@code consumer-fetch-manager-metrics} {@code fetch-total}). */
    public static double fetchRequests(Map<MetricName, ? extends Metric> metrics) {
        return metrics.entrySet().stream()
                .filter(e -> e.getKey().group().equals("consumer-fetch-manager-metrics")
                        && e.getKey().name().equals("fetch-total"))
                .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue())
                .sum();
    }
}
