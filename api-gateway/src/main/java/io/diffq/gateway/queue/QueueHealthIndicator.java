package io.diffq.gateway.queue;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * Down while the broker does not answer the queue monitor's readings (one every
 * {@code diffq.queue.monitor-interval}). It is part of the gateway's overall health, for monitoring, and
 * deliberately not of readiness: while the broker is away every gateway is in the same state, and a gateway taken
 * out of its load balancer could no longer answer clients with a {@code 503} and {@code Retry-After}, nor show the
 * jobs its status view holds.
 */
@Component("queue")
class QueueHealthIndicator implements HealthIndicator {

    private final QueueMonitor monitor;

    QueueHealthIndicator(QueueMonitor monitor) {
        this.monitor = monitor;
    }

    @Override
    public Health health() {
        return monitor.unreachable()
                .map(why -> Health.down().withDetail("error", why).build())
                .orElseGet(() -> Health.up().withDetail("waiting", monitor.waiting(monitor.snapshot())).build());
    }
}
