package io.diffq.gateway.kafka;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TopicsPropertiesTests {

    private static final Duration TTL = Duration.ofHours(24);

    @Test
    void partitionCountsBelowOneAreRefused() {
        assertThatThrownBy(() -> new TopicsProperties(12, (short) 1, TTL, null, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("diffq.topics.job-partitions must be at least 1");
        assertThatThrownBy(() -> new TopicsProperties(0, (short) 1, TTL, null, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("diffq.topics.partitions must be at least 1");
    }

    @Test
    void aStatusRetentionLongerThanTheEventsAreKeptIsRefused() {
        TopicsProperties topics = new TopicsProperties(12, (short) 1, TTL, null, 1);
        topics.checkStatusRetention(TTL);
        assertThatThrownBy(() -> topics.checkStatusRetention(TTL.plusMinutes(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("diffq.gateway.status-retention (PT24H1M) is longer than "
                        + "diffq.topics.result-ttl (PT24H)");
    }
}
