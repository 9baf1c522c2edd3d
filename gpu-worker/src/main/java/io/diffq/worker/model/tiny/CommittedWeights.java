package io.diffq.worker.model.tiny;

import java.nio.file.Path;

/** The committed weights, copied once per JVM from the classpath to a temporary directory DJL can load. */
final class CommittedWeights {

    private static Path directory;

    private CommittedWeights() {
    }

    static synchronized Path directory() {
        if (directory == null) {
            directory = TinyWeights.extractCommitted();
        }
        return directory;
    }
}
