package io.diffq.launcher;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/** A started broker is ready once it answers a client's metadata request (kafka-clients on the class path). */
public final class KafkaReadiness {

    private KafkaReadiness() {
    }

    /** Waits for node {@code name} on {@code bootstrap}; a {@link Processes.StartFailure} if it exits or times out. */
    public static void await(String name, ProcessHandle process, String bootstrap, Duration timeout, Path log,
            long logOffset) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000))) {
            Processes.await(name, process, timeout, Duration.ofMillis(200), () -> {
                try {
                    admin.describeCluster().nodes().get(3, TimeUnit.SECONDS);
                    return true;
                } catch (Exception notYet) {
                    return false;
                }
            }, log, logOffset);
        }
    }
}
