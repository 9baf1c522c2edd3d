package io.diffq.observability;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/** Where the repository's files live, seen from the infra module (the tests' working directory), and what is on the PATH. */
public final class Repo {

    public static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    static final Path PROMETHEUS = ROOT.resolve("infra/prometheus");
    static final Path DASHBOARDS = ROOT.resolve("grafana/dashboards");

    private Repo() {
    }

    /** The executable {@code name} on the PATH, if there is one. */
    public static Optional<Path> executable(String name) {
        String path = System.getenv().getOrDefault("PATH", "");
        return Arrays.stream(path.split(File.pathSeparator))
                .filter(dir -> !dir.isBlank())
                .map(dir -> Path.of(dir, name))
                .filter(Files::isExecutable)
                .findFirst();
    }
}
