package io.diffq.gateway.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.gateway.status.JobStatusView.WaitingByOwner;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class TenantQuotaTests {

    private final Map<String, Long> counted = new HashMap<>();
    private long countTakenAt = 1_000;
    private long now = 1_000;
    private final TenantQuota quota = new TenantQuota(() -> new WaitingByOwner(Map.copyOf(counted), countTakenAt),
            () -> now, new SimpleMeterRegistry());

    @Test
    void aKeyIsAdmittedUpToItsMaxWaitingAndTheNextIsToldHowManyMustStartFirst() {
        counted.put("alice", 3L);

        now += 1;
        assertThat(quota.admit("alice", 5)).isZero();
        now += 1;
        assertThat(quota.admit("alice", 5)).isZero();
        now += 1;
        assertThat(quota.admit("alice", 5)).as("3 counted + 2 admitted here since").isEqualTo(1);
        assertThat(quota.admit("alice", 4)).isEqualTo(2);
        assertThat(quota.admit("bob", 1)).as("another key has its own count").isZero();
    }

    @Test
    void whatTheCountAlreadyHoldsIsNotCountedTwice() {
        now += 1;
        quota.admit("alice", 2);
        now += 1;
        quota.admit("alice", 2);
        assertThat(quota.admit("alice", 2)).isEqualTo(1);

        // A newer count of the view: both jobs are in it (accepted before it began), and one has started since.
        counted.put("alice", 1L);
        countTakenAt = now + 1;
        now += 2;
        assertThat(quota.admit("alice", 2)).isZero();
        assertThat(quota.admit("alice", 2)).isEqualTo(1);
    }

    @Test
    void admissionsSinceTheCountAreKeptWhileTheCountIsSecondsOld() {
        now += 1;
        quota.admit("alice", 2);
        now += TimeUnit.SECONDS.toNanos(5);
        quota.admit("alice", 2);
        now += TimeUnit.SECONDS.toNanos(4);
        assertThat(quota.admit("alice", 2)).as("both admitted since the count began").isEqualTo(1);
    }
}
