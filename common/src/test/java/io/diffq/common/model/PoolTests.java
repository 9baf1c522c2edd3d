package io.diffq.common.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolTests {

    @Test
    void aWorkersDefaultPoolIsItsModelsSortedAndJoinedWhateverTheirOrder() {
        assertThat(Pool.defaultName(List.of("tiny", "simulated"))).isEqualTo("simulated.tiny");
        assertThat(Pool.defaultName(List.of("simulated", "tiny"))).isEqualTo("simulated.tiny");
        assertThat(Pool.defaultName(List.of("sd"))).isEqualTo("sd");
        assertThat(Topics.lane("simulated.tiny")).isEqualTo("diffq.lane.simulated.tiny");
    }

    @Test
    void aPoolsModelsAreSortedAndEachNamedOnce() {
        assertThat(new Pool("p", List.of("tiny", "sd")).models()).containsExactly("sd", "tiny");
        assertThat(new Pool("p", List.of("tiny", "sd")).serves("sd")).isTrue();
        assertThat(new Pool("p", List.of("tiny")).serves("sd")).isFalse();
        assertThatThrownBy(() -> new Pool("p", List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Pool("p", List.of("tiny", "tiny"))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Pool("p", List.of(""))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aPoolNameIsSafeForATopicNameAndForShareGroups() {
        for (String ok : List.of("tiny", "sd-xl", "simulated.tiny", "pool_1", "9")) {
            assertThat(Pool.requireName(ok)).isEqualTo(ok);
        }
        // ':' is mishandled in share-group topic names (KAFKA-20183); upper case, spaces and '/' are not topic-safe.
        for (String bad : List.of("", "a:b", "Tiny", "a b", "a/b", ".tiny", "-x", "x".repeat(Pool.MAX_NAME + 1))) {
            assertThatThrownBy(() -> Pool.requireName(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("pool name");
            assertThatThrownBy(() -> Topics.lane(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(Pool.requireName("x".repeat(Pool.MAX_NAME))).hasSize(Pool.MAX_NAME);
        assertThat(Topics.lane("x".repeat(Pool.MAX_NAME)).length()).isLessThanOrEqualTo(249);
    }

    @Test
    void aPoolRecordReadsBackAndABrokenOneIsMalformed() {
        JobCodec codec = new JobCodec();
        Pool pool = new Pool("simulated.tiny", List.of("tiny", "simulated"));
        assertThat(codec.readPool(codec.writePool(pool))).isEqualTo(pool);
        for (String json : List.of("{\"name\":\"A:B\",\"models\":[\"tiny\"]}", "{\"name\":\"p\",\"models\":[]}",
                "{\"name\":\"p\"}", "not json")) {
            assertThatThrownBy(() -> codec.readPool(json.getBytes(StandardCharsets.UTF_8))).as(json)
                    .isInstanceOf(MalformedRecordException.class);
        }
    }
}
