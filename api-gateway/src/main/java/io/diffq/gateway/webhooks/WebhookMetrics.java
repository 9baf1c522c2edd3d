package io.diffq.gateway.webhooks;

import io.diffq.common.metrics.MetricNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * {@code diffq.webhook.deliveries} (a counter) and {@code diffq.webhook.delivery.duration} (a timer), tagged
 * {@code outcome} (one of {@link #OUTCOMES}) and {@code event} (the payload's type): one count per attempt.
 */
final class WebhookMetrics {

    /** Every outcome of an attempt: {@code retried} means another try was written to the outbox. */
    static final List<String> OUTCOMES = List.of("delivered", "retried", "failed", "stopped", "given-up", "refused");

    private final MeterRegistry meters;

    WebhookMetrics(MeterRegistry meters) {
        this.meters = meters;
        // Registered up front, so that rates start from zero instead of appearing with the first event.
        for (WebhookEvent e : WebhookEvent.values()) {
            for (String outcome : OUTCOMES) {
                counter(outcome, e.type());
            }
        }
    }

    void record(String outcome, String type, Duration took) {
        counter(outcome, type).increment();
        Timer.builder(MetricNames.WEBHOOK_DELIVERY_DURATION)
                .description("Time of one webhook delivery attempt")
                .tag(MetricNames.TAG_OUTCOME, outcome)
                .tag(MetricNames.TAG_EVENT, type)
                .serviceLevelObjectives(Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofMillis(100),
                        Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2),
                        Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30))
                .register(meters)
                .record(took);
    }

    static String outcome(WebhookClient.Outcome o) {
        return o.name().toLowerCase(Locale.ROOT);
    }

    private Counter counter(String outcome, String type) {
        return Counter.builder(MetricNames.WEBHOOK_DELIVERIES)
                .description("Webhook delivery attempts by outcome")
                .tag(MetricNames.TAG_OUTCOME, outcome)
                .tag(MetricNames.TAG_EVENT, type)
                .register(meters);
    }
}
