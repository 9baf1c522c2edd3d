package io.diffq.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class BrokerSettingsTests {

    private static final Path ROOT = BrokerSettings.findRoot(Path.of(""));

    @Test
    void oneBrokerKeepsOneCopyOfEverythingAndThreeKeepThreeWithTwoInSync() {
        Map<String, String> one = asMap(BrokerSettings.diffq(ROOT, 1));
        Map<String, String> three = asMap(BrokerSettings.diffq(ROOT, 3));
        assertThat(one).containsEntry("share.coordinator.state.topic.replication.factor", "1")
                .containsEntry("min.insync.replicas", "1").containsEntry("auto.create.topics.enable", "false");
        assertThat(three).containsEntry("share.coordinator.state.topic.replication.factor", "3")
                .containsEntry("share.coordinator.state.topic.min.isr", "2").containsEntry("min.insync.replicas", "2");
        assertThat(one.values()).noneMatch(v -> v.contains("@"));
    }

    @Test
    void aNodeOfThreeListensOnItsOwnPortsVotesWithAllAndKeepsDiffqsSettings() {
        List<BrokerSettings.Node> cluster = List.of(new BrokerSettings.Node(1, 19092, 19093),
                new BrokerSettings.Node(2, 19094, 19095), new BrokerSettings.Node(3, 19096, 19097));
        Map<String, String> second = asMap(BrokerSettings.server(ROOT, cluster, cluster.get(1), Path.of("/d/data")));

        assertThat(second).containsEntry("node.id", "2")
                .containsEntry("controller.quorum.voters", "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097")
                .containsEntry("listeners", "PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095")
                .containsEntry("advertised.listeners", "PLAINTEXT://127.0.0.1:19094")
                .containsEntry("log.dirs", "/d/data")
                .containsAllEntriesOf(asMap(BrokerSettings.diffq(ROOT, 3)));
        assertThat(BrokerSettings.bootstrap(cluster)).isEqualTo("127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096");
    }

    @Test
    void diffqsSettingsLeaveWhatIsTheLaunchersToIt() {
        assertThat(BrokerSettings.diffq(ROOT, 1).stringPropertyNames()).doesNotContain("node.id", "process.roles",
                "listeners", "advertised.listeners", "controller.quorum.voters", "log.dirs");
    }

    private static Map<String, String> asMap(Properties p) {
        Map<String, String> m = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return m;
    }
}
