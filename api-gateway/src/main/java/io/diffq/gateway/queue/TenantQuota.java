package io.diffq.gateway.queue;

import io.diffq.common.metrics.MetricNames;
import io.diffq.gateway.status.JobStatusView;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Each API key's jobs waiting (accepted, not yet started) against its {@code max-waiting}: the status view's count
 * of the key's waiting jobs, taken at most a second ago, plus what this gateway admitted for the key since that count
 * began. A soft limit across gateways: another gateway's submits count once this one's view has read them.
 */
@Component
public class TenantQuota {

    /** How long an admission is remembered: far longer than the count it must be added to can be old. */
    private static final long KEPT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final Supplier<JobStatusView.WaitingByOwner> waiting;
    private final LongSupplier nanoTime;
    private final MeterRegistry meters;
    /** Per key, when this gateway admitted its latest jobs ({@link System#nanoTime()}), oldest first. */
    private final Map<String, Deque<Long>> admitted = new ConcurrentHashMap<>();

    @Autowired
    TenantQuota(JobStatusView view, MeterRegistry meters) {
        this(view::waitingByOwner, System::nanoTime, meters);
    }

    TenantQuota(Supplier<JobStatusView.WaitingByOwner> waiting, LongSupplier nanoTime, MeterRegistry meters) {
        this.waiting = waiting;
        this.nanoTime = nanoTime;
        this.meters = meters;
    }

    /** The jobs of {@code owner} accepted and not yet started, as {@link #admit} counts them. */
    long waiting(String owner) {
        JobStatusView.WaitingByOwner known = waiting.get();
        Deque<Long> mine = admitted.get(owner);
        if (mine == null) {
            return known.of(owner);
        }
        synchronized (mine) {
            return waiting(known, owner, mine);
        }
    }

    /** The view's count plus the admissions made here since it began ({@code mine} locked by the caller). */
    private static long waiting(JobStatusView.WaitingByOwner known, String owner, Deque<Long> mine) {
        return known.of(owner) + mine.stream().filter(t -> t - known.takenAt() >= 0).count();
    }

    /**
     * Counts one more waiting job of {@code owner} if fewer than {@code maxWaiting} wait.
     *
     * @return 0 when it was admitted; else how many of the key's jobs must start before one more may wait
     */
    long admit(String owner, int maxWaiting) {
        JobStatusView.WaitingByOwner known = waiting.get();
        Deque<Long> mine = admitted.computeIfAbsent(owner, k -> {
            Gauge.builder(MetricNames.TENANT_WAITING, () -> waiting(k))
                    .description("Jobs of the API key accepted and not yet started, as this gateway counts them "
                            + "(exported once the key submitted here; aggregate with max)")
                    .tag(MetricNames.TAG_KEY, k).register(meters);
            return new ArrayDeque<>();
        });
        synchronized (mine) {
            long now = nanoTime.getAsLong();
            while (!mine.isEmpty() && now - mine.peekFirst() > KEPT_NANOS) {
                mine.pollFirst();
            }
            long waitingNow = waiting(known, owner, mine);
            if (waitingNow >= maxWaiting) {
                return waitingNow - maxWaiting + 1;
            }
            mine.addLast(now);
            return 0;
        }
    }
}
