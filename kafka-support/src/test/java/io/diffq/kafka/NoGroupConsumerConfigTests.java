package io.diffq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.junit.jupiter.api.Test;

class NoGroupConsumerConfigTests {

    private final Map<String, Object> base = Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092",
            ConsumerConfig.GROUP_ID_CONFIG, "diffq-workers",
            ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "worker-1",
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, true,
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest",
            ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, true,
            ConsumerConfig.CLIENT_ID_CONFIG, "from-the-application",
            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 7);

    @Test
    void hasNoGroupAndNeverCommits() {
        Map<String, Object> config = NoGroupConsumerConfig.of(base, "diffq-test");

        assertThat(config).doesNotContainKeys(ConsumerConfig.GROUP_ID_CONFIG, ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)
                .containsEntry(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    }

    @Test
    void readsFromTheBeginningNeverCreatesATopicAndNamesItsClient() {
        Map<String, Object> config = NoGroupConsumerConfig.of(base, "diffq-test");

        assertThat(config).containsEntry(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest")
                .containsEntry(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false)
                .containsEntry(ConsumerConfig.CLIENT_ID_CONFIG, "diffq-test");
    }

    @Test
    void keepsTheRestOfTheBaseAndLeavesTheBaseAsItWas() {
        Map<String, Object> mutableBase = new HashMap<>(base);

        Map<String, Object> config = NoGroupConsumerConfig.of(mutableBase, "diffq-test");
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);

        assertThat(config).containsEntry(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092");
        assertThat(mutableBase).isEqualTo(base);
    }
}
