package io.diffq.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.launcher.BrokerSettings;
import io.diffq.observability.Repo;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * diffq's broker settings live in one file, {@code infra/kafka/broker.properties}; what cannot read it (Strimzi's
 * {@code Kafka} resource, YAML) must say the same.
 */
class BrokerSettingsTests {

    @Test
    void theStrimziClusterRunsWithDiffqsBrokerSettingsForThreeBrokers() throws IOException {
        JsonNode kafka = Manifests.readAll(Files.readString(Repo.ROOT.resolve("infra/k8s/components/strimzi/kafka.yaml")))
                .stream().filter(d -> "Kafka".equals(d.path("kind").asString())).findFirst().orElseThrow();
        Map<String, String> strimzi = new TreeMap<>();
        kafka.path("spec").path("kafka").path("config").properties()
                .forEach(e -> strimzi.put(e.getKey(), e.getValue().asString()));

        assertThat(strimzi).isEqualTo(asMap(BrokerSettings.diffq(Repo.ROOT, 3)));
    }

    private static Map<String, String> asMap(Properties p) {
        Map<String, String> m = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return m;
    }
}
