package io.diffq.gateway.status;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/** Out of service until the status view has read the topics as they were at start-up: no stale answers. */
@Component("statusView")
class StatusViewHealthIndicator implements HealthIndicator {

    private final JobStatusView view;

    StatusViewHealthIndicator(JobStatusView view) {
        this.view = view;
    }

    @Override
    public Health health() {
        Health.Builder health = view.isCaughtUp() ? Health.up() : Health.outOfService();
        return health.withDetail("jobs", view.size()).withDetail("recordsRead", view.recordsRead()).build();
    }
}
