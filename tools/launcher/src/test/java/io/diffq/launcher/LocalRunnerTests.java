package io.diffq.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Settings a user gets wrong are refused before anything starts, naming the variable. */
class LocalRunnerTests {

    private static void refused(Map<String, String> env, String message) {
        assertThatThrownBy(() -> new LocalRunner(Path.of("/repo"), env)).isInstanceOf(LocalRunner.Failure.class)
                .hasMessage(message);
    }

    @Test
    void aPortMustBeANumberInRange() {
        refused(Map.of("DIFFQ_GATEWAY_PORT", "80a"), "DIFFQ_GATEWAY_PORT='80a' is not a port number (1-65535)");
        refused(Map.of("DIFFQ_KAFKA_PORT", "70000"), "DIFFQ_KAFKA_PORT='70000' is not a port number (1-65535)");
    }

    @Test
    void twoSettingsMayNotShareAPort() {
        refused(Map.of("DIFFQ_PROMETHEUS_PORT", "8080"),
                "DIFFQ_PROMETHEUS_PORT and DIFFQ_GATEWAY_PORT are both 8080; give each its own port");
    }

    @Test
    void aClusterIsOneOrThreeNodesWhosePortsAreFree() {
        refused(Map.of("DIFFQ_KAFKA_BROKERS", "2"), "DIFFQ_KAFKA_BROKERS='2' must be 1 or 3");
        // Node 2 takes the Kafka port + 2: here the controller's default.
        refused(Map.of("DIFFQ_KAFKA_BROKERS", "3", "DIFFQ_KAFKA_PORT", "9091"),
                "broker-2's port 9093 is also DIFFQ_KAFKA_CONTROLLER_PORT; move DIFFQ_KAFKA_PORT or "
                        + "DIFFQ_KAFKA_CONTROLLER_PORT");
    }

    @Test
    void lanesAndTimeoutsTakeWhatTheySay() {
        refused(Map.of("DIFFQ_LANES", "yes"), "DIFFQ_LANES must be 0 or 1, not yes");
        refused(Map.of("DIFFQ_STOP_TIMEOUT", "10s"), "DIFFQ_STOP_TIMEOUT='10s' is not a number of seconds");
    }

    @Test
    void statusTakesARecycledPidForNoneOfOurs(@TempDir Path home) throws Exception {
        Files.createDirectories(home.resolve("run"));
        // This test's own JVM: alive, but without the gateway's marker argument, so not the gateway.
        Files.writeString(home.resolve("run/gateway.pid"), ProcessHandle.current().pid() + "\n");
        Files.writeString(home.resolve("run/gateway.port"), "8080 8081\n");
        Files.writeString(home.resolve("run/worker-2.pid"), "999999999\n");

        String status = statusOf(new LocalRunner(Path.of("/repo"), Map.of("DIFFQ_HOME", home.toString())));

        long self = ProcessHandle.current().pid();
        assertThat(status).containsPattern("gateway +" + self + " +no \\(stale pid file\\) +8080,8081 +-")
                .containsPattern("worker-2 +999999999 +no \\(stale pid file\\)")
                .containsPattern("broker +- +no +- +-")
                .contains("(nothing is running; state in " + home + ")");
    }

    private static String statusOf(LocalRunner runner) {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            runner.status();
        } finally {
            System.setOut(out);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
