package io.diffq.gateway.queue;

import io.diffq.common.job.JobRequest;
import io.diffq.gateway.status.FleetStats;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.springframework.stereotype.Component;

/**
 * Decides whether a new job may enter the queue: not while the backlog is past its bounds, and not when
 * the job could not start before its own deadline at the rate jobs finish now. {@code Retry-After} is
 * the time the fleet needs, at that rate, to bring the backlog back within bounds.
 */
@Component
public class Admission {

    private final QueueMonitor monitor;
    private final TenantQuota quota;
    private final FleetStats fleet;
    private final BackpressureProperties properties;
    private final Clock clock;

    public Admission(QueueMonitor monitor, TenantQuota quota, FleetStats fleet, BackpressureProperties properties,
            Clock clock) {
        this.monitor = monitor;
        this.quota = quota;
        this.fleet = fleet;
        this.properties = properties;
        this.clock = clock;
    }

    /**
     * @param maxWaiting the most jobs the request's API key may have waiting; {@code null} for no limit
     * @throws QuotaExceededException when the key has as many jobs waiting as it may
     * @throws OverloadedException    when the job must not be accepted now
     */
    public void admit(JobRequest request, Integer maxWaiting) {
        double rate = fleet.recentThroughput();
        if (maxWaiting != null) {
            long excess = quota.admit(request.owner(), maxWaiting);
            if (excess > 0) {
                // The key's jobs start no faster than the fleet's: the earliest a place may be free.
                throw new QuotaExceededException("key '" + request.owner() + "' has " + (maxWaiting + excess - 1)
                        + " jobs waiting (max-waiting " + maxWaiting + ")", retryAfter(rate, excess));
            }
        }
        QueueSnapshot q = monitor.snapshot();
        long lag = monitor.waiting(q);
        if (lag > properties.maxLag()) {
            throw full(lag, rate);
        }
        if (q.oldestWait().compareTo(properties.maxOldestWait()) > 0) {
            long allowed = (long) (rate * properties.maxOldestWait().toSeconds());
            throw new OverloadedException("the oldest waiting job has waited " + q.oldestWait().toSeconds()
                    + " s (limit " + properties.maxOldestWait().toSeconds() + " s)",
                    retryAfter(rate, Math.max(1, lag - allowed)));
        }
        if (request.deadline() != null && lag > 0) {
            Instant earliestStart = rate > 0
                    ? clock.instant().plus(Duration.ofMillis((long) (lag / rate * 1000)))
                    : Instant.MAX;
            if (earliestStart.isAfter(request.deadline())) {
                throw new OverloadedException("with " + lag + " jobs ahead at " + String.format("%.2f", rate)
                        + " jobs/s the job cannot start before its deadline", retryAfter(rate, lag));
            }
        }
        // Counted at once, so that a burst between two readings of the queue stops at the bound too.
        if (!monitor.admitIfWaitingAtMost(q, properties.maxLag())) {
            throw full(monitor.waiting(q), rate);
        }
    }

    private OverloadedException full(long lag, double rate) {
        return new OverloadedException(lag + " jobs are waiting (limit " + properties.maxLag() + ")",
                retryAfter(rate, Math.max(1, lag - properties.maxLag())));
    }

    private Duration retryAfter(double rate, long jobsToDrain) {
        if (rate <= 0) {
            return properties.retryAfterWhenIdle();
        }
        Duration d = Duration.ofSeconds((long) Math.ceil(jobsToDrain / rate));
        if (d.compareTo(Duration.ofSeconds(1)) < 0) {
            return Duration.ofSeconds(1);
        }
        return d.compareTo(properties.maxRetryAfter()) > 0 ? properties.maxRetryAfter() : d;
    }
}
