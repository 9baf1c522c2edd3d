package io.diffq.launcher;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What every launch of a diffq service starts from, the local runner's and the tests': its ports and brokers. */
public final class Services {

    private Services() {
    }

    /** A gateway: its API on {@code port}, actuator (health, metrics) on {@code managementPort}. */
    public static List<String> gateway(int port, int managementPort, String bootstrap) {
        return List.of("--server.port=" + port, "--management.server.port=" + managementPort,
                "--spring.kafka.bootstrap-servers=" + bootstrap);
    }

    /**
     * The gateway's start-up cache training (see {@link AotCache}): its context refreshed without a broker (an address
     * nobody answers on, topics not created), its status store in the training's own folder.
     */
    public static AotCache.Training gatewayTraining(Path bootJar) {
        return new AotCache.Training(bootJar, List.of(), training(), Map.of("DIFFQ_GATEWAY_STATUS_DIR", "status"));
    }

    /** The worker's start-up cache training: as the gateway's, serving the simulated and the tiny model offline. */
    public static AotCache.Training workerTraining(Path bootJar) {
        List<String> args = new ArrayList<>(training());
        args.addAll(List.of("--diffq.worker.id=aot-training", "--diffq.worker.models=simulated,tiny"));
        return new AotCache.Training(bootJar, List.of("-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1"), args,
                Map.of("DJL_CACHE_DIR", "djl-cache"));
    }

    private static List<String> training() {
        return List.of("--server.port=0", "--management.server.port=0", "--spring.kafka.bootstrap-servers=127.0.0.1:9",
                "--spring.kafka.admin.auto-create=false");
    }

    /** A worker named {@code id}, serving {@code models} (comma-separated), its actuator on {@code port}. */
    public static List<String> worker(String id, int port, String bootstrap, String models) {
        return List.of("--server.port=" + port, "--management.server.port=" + port,
                "--spring.kafka.bootstrap-servers=" + bootstrap, "--diffq.worker.id=" + id,
                "--diffq.worker.models=" + models);
    }
}
