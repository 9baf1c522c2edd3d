package io.diffq.gateway.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimiterTests {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private final AtomicLong now = new AtomicLong(-42 * SECOND);

    @Test
    void eachClientHasItsOwnBucket() {
        RateLimiter limiter = new RateLimiter(20, 40, 100, now::get);

        for (int i = 0; i < 40; i++) {
            assertThat(limiter.acquire("a")).isZero();
        }
        assertThat(limiter.acquire("a")).isEqualTo(1);
        assertThat(limiter.acquire("b")).isZero();

        now.addAndGet(SECOND / 20);
        assertThat(limiter.acquire("a")).isZero();
        assertThat(limiter.acquire("a")).isEqualTo(1);
    }

    @Test
    void retryAfterIsTheWholeSecondsUntilATokenRoundedUp() {
        RateLimiter limiter = new RateLimiter(0.25, 1, 10, now::get);
        assertThat(limiter.acquire("slow")).isZero();

        assertThat(limiter.acquire("slow")).isEqualTo(4);
        now.addAndGet(SECOND + 1);
        assertThat(limiter.acquire("slow")).isEqualTo(3);
        now.addAndGet(3 * SECOND - 2);
        assertThat(limiter.acquire("slow")).isEqualTo(1);
        now.addAndGet(1);
        assertThat(limiter.acquire("slow")).isZero();
    }

    @Test
    void idleBucketsAreDroppedSoTheMapStaysBounded() {
        RateLimiter limiter = new RateLimiter(10, 5, 1000, now::get);
        for (int i = 0; i < 999; i++) {
            limiter.acquire("10.0.0." + i);
        }
        now.addAndGet(SECOND * 9 / 10);
        for (int i = 0; i < 5; i++) {
            limiter.acquire("busy");
        }
        assertThat(limiter.clients()).isEqualTo(1000);

        // A second after the start, the first 999 have refilled (they behave as new): they are dropped;
        // "busy" is still 0.4 s from full and keeps its bucket (one token back, the next one a tenth later).
        now.addAndGet(SECOND / 10);
        limiter.acquire("newcomer");
        assertThat(limiter.clients()).isEqualTo(2);
        assertThat(limiter.acquire("busy")).isZero();
        assertThat(limiter.acquire("busy")).isEqualTo(1);
    }

    @Test
    void clientsBeyondTheCapShareOneBucketAndLeaveTheKnownOnesAlone() {
        RateLimiter limiter = new RateLimiter(1, 3, 2, now::get);
        limiter.acquire("known-1");
        limiter.acquire("known-2");

        // A flood from ever new addresses: they share the overflow bucket, 3 get through.
        int allowed = 0;
        for (int i = 0; i < 100_000; i++) {
            if (limiter.acquire("random-" + i) == 0) {
                allowed++;
            }
        }
        assertThat(allowed).isEqualTo(3);
        assertThat(limiter.clients()).isEqualTo(2);
        assertThat(limiter.acquire("known-1")).isZero();
        assertThat(limiter.acquire("known-2")).isZero();
    }

    @Test
    void aFullMapMakesRoomOnceBucketsAreIdle() {
        RateLimiter limiter = new RateLimiter(1, 1, 2, now::get);
        limiter.acquire("a");
        limiter.acquire("b");
        assertThat(limiter.acquire("c")).isZero();
        assertThat(limiter.acquire("c")).isEqualTo(1);

        now.addAndGet(5 * SECOND);
        assertThat(limiter.acquire("c")).isZero();
        assertThat(limiter.clients()).isEqualTo(1);
        assertThat(limiter.acquire("c")).isEqualTo(1);
    }
}
