package io.diffq.launcher;

import java.util.List;

/** What every launch of a diffq service starts from, the local runner's and the tests': its ports and brokers. */
public final class Services {

    private Services() {
    }

    /** A gateway: its API on {@code port}, actuator (health, metrics) on {@code managementPort}. */
    public static List<String> gateway(int port, int managementPort, String bootstrap) {
        return List.of("--server.port=" + port, "--management.server.port=" + managementPort,
                "--spring.kafka.bootstrap-servers=" + bootstrap);
    }

    /** A worker named {@code id}, serving {@code models} (comma-separated), its actuator on {@code port}. */
    public static List<String> worker(String id, int port, String bootstrap, String models) {
        return List.of("--server.port=" + port, "--management.server.port=" + port,
                "--spring.kafka.bootstrap-servers=" + bootstrap, "--diffq.worker.id=" + id,
                "--diffq.worker.models=" + models);
    }
}
