package io.diffq.gateway.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TokenBucketTests {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final long T0 = 123_456_789L;

    @Test
    void aNewBucketAllowsItsBurstThenRefusesUntilATokenIsBack() {
        TokenBucket bucket = new TokenBucket(2, 3, T0);

        assertThat(bucket.tryTake(T0)).isZero();
        assertThat(bucket.tryTake(T0)).isZero();
        assertThat(bucket.tryTake(T0)).isZero();
        // Empty: at 2 tokens a second, the next one is half a second away.
        assertThat(bucket.tryTake(T0)).isEqualTo(SECOND / 2);
        assertThat(bucket.tryTake(T0 + SECOND / 4)).isEqualTo(SECOND / 4);
        assertThat(bucket.tryTake(T0 + SECOND / 2)).isZero();
        assertThat(bucket.tryTake(T0 + SECOND / 2)).isPositive();
    }

    @Test
    void itRefillsAtTheRateButNeverAboveItsCapacity() {
        TokenBucket bucket = new TokenBucket(10, 5, T0);
        for (int i = 0; i < 5; i++) {
            bucket.tryTake(T0);
        }
        assertThat(bucket.isFull(T0)).isFalse();

        long later = T0 + 3600 * SECOND;
        assertThat(bucket.isFull(later)).isTrue();
        int taken = 0;
        while (bucket.tryTake(later) == 0) {
            taken++;
        }
        assertThat(taken).isEqualTo(5);
    }

    @Test
    void aSustainedRateIsServedExactly() {
        TokenBucket bucket = new TokenBucket(20, 1, T0);
        int allowed = 0;
        // One request every millisecond for 10 s: 20 a second get through (plus the one initial token).
        for (long t = T0; t < T0 + 10 * SECOND; t += SECOND / 1000) {
            if (bucket.tryTake(t) == 0) {
                allowed++;
            }
        }
        assertThat(allowed).isBetween(200, 201);
    }

    @Test
    void slowRatesWaitLong() {
        TokenBucket bucket = new TokenBucket(0.01, 1, T0);
        bucket.tryTake(T0);

        assertThat(bucket.tryTake(T0)).isEqualTo(100 * SECOND);
    }
}
