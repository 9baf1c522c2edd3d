package io.diffq.worker.consumer;

import io.diffq.worker.WorkerProperties;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.springframework.stereotype.Component;

/** This worker's name: {@code diffq.worker.id}, or host and process id. */
@Component
class WorkerIdentity {

    private final String id;

    WorkerIdentity(WorkerProperties properties) {
        this.id = properties.id() != null && !properties.id().isBlank() ? properties.id() : hostAndPid();
    }

    String id() {
        return id;
    }

    private static String hostAndPid() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "unknown-host";
        }
        return host + "-" + ProcessHandle.current().pid();
    }
}
