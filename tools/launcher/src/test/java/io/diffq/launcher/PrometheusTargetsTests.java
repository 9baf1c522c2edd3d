package io.diffq.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class PrometheusTargetsTests {

    @Test
    void theShippedConfigScrapesEveryProcessOnItsPort() throws IOException {
        String shipped = Files.readString(BrokerSettings.findRoot(Path.of("")).resolve(
                "infra/prometheus/prometheus.yml"));

        String local = PrometheusTargets.render(shipped, 28081, 28080, List.of(28091, 28092), 29090);

        assertThat(local).contains("- 127.0.0.1:28081\n", "- 127.0.0.1:28091\n", "- 127.0.0.1:28092\n",
                "- 127.0.0.1:29090\n").doesNotContain("localhost:8081", "localhost:8091", "localhost:9090");
        // Nothing else changes: the rendered file is the shipped one with those lines swapped (one line more).
        assertThat(local.lines().count()).isEqualTo(shipped.lines().count() + 1);
    }

    @Test
    void aFlowListGetsEveryWorkerAndOtherPortsStay() {
        String config = """
                  - targets: ["localhost:8091"] # workers
                  - targets: ['127.0.0.1:8080', "localhost:80910", "localhost:9090"]
                  - localhost:8091   # a worker
                """;

        assertThat(PrometheusTargets.render(config, 1, 2, List.of(3, 4), 5)).isEqualTo("""
                  - targets: ["127.0.0.1:3", "127.0.0.1:4"] # workers
                  - targets: ['127.0.0.1:2', "localhost:80910", "127.0.0.1:5"]
                  - 127.0.0.1:3   # a worker
                  - 127.0.0.1:4   # a worker
                """);
    }
}
