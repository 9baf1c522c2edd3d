package io.diffq.system;

import io.diffq.observability.Repo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The Docker engine the container tests use: the one {@code DOCKER_HOST} names, else the default socket,
 * else the private engine of {@code infra/images/engine} (its socket under {@code DIFFQ_ENGINE_HOME},
 * {@code /tmp/diffq-engine}). None of them answering is a reason to skip, which {@link #skipReason()} says.
 */
final class ContainerEngine {

    static final Path ROOT = Repo.ROOT;

    private static Optional<String> host;

    private ContainerEngine() {
    }

    /** The DOCKER_HOST of an engine that answers, if any. */
    static synchronized Optional<String> host() {
        if (host == null) {
            host = find();
        }
        return host;
    }

    /**
     * Whether the JVM images can be built here: they run Java 25 (their start-up caches), so infra/images/build
     * makes their local base from a JDK 25 on this machine, unless DIFFQ_IMAGE_BASE names another base. The test
     * JVM runs on JAVA_HOME's JDK, the first place the script looks.
     */
    static boolean canBuildJvmImages() {
        return Runtime.version().feature() >= 25 || System.getenv("DIFFQ_IMAGE_BASE") != null;
    }

    static final String NO_JDK_25 = "the images run Java 25 and their local base is made from a JDK 25 here: run the "
            + "tests with JAVA_HOME on one (.ci/run does where the machine has it), or set DIFFQ_IMAGE_BASE";

    static String skipReason() {
        return "no container engine answers (DOCKER_HOST, /var/run/docker.sock or infra/images/engine's socket): "
                + "start one as root with `infra/images/engine start` (Debian: docker.io) and export the "
                + "DOCKER_HOST it prints; .ci/run does";
    }

    private static Optional<String> find() {
        List<String> candidates = new ArrayList<>();
        String env = System.getenv("DOCKER_HOST");
        if (env != null && !env.isBlank()) {
            candidates.add(env);
        }
        candidates.add("unix:///var/run/docker.sock");
        String home = System.getenv().getOrDefault("DIFFQ_ENGINE_HOME", "/tmp/diffq-engine");
        candidates.add("unix://" + home + "/docker.sock");
        if (Repo.executable("docker").isEmpty()) {
            return Optional.empty();
        }
        for (String candidate : candidates) {
            if (candidate.startsWith("unix://") && !Files.exists(Path.of(candidate.substring("unix://".length())))) {
                continue;
            }
            Result r = run(Duration.ofSeconds(20), Map.of("DOCKER_HOST", candidate),
                    "docker", "version", "--format", "{{.Server.Version}}");
            if (r.ok()) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Runs {@code docker ARGS} against the engine. */
    static Result docker(Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of("docker"));
        command.addAll(List.of(args));
        return run(timeout, Map.of("DOCKER_HOST", host().orElseThrow()), command.toArray(String[]::new));
    }

    /** Runs a command from the repository root with extra environment, stdout and stderr together. */
    static Result run(Duration timeout, Map<String, String> env, String... command) {
        try {
            Path out = Files.createTempFile("diffq-cmd", ".log");
            try {
                ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT.toFile())
                        .redirectErrorStream(true).redirectOutput(out.toFile());
                Map<String, String> environment = pb.environment();
                environment.putAll(env);
                Process p = pb.start();
                if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                    return new Result(-1, Files.readString(out, StandardCharsets.UTF_8)
                            + "\n[timed out after " + timeout + "]");
                }
                return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The environment for scripts that talk to the engine. */
    static Map<String, String> env(Map<String, String> more) {
        Map<String, String> env = new HashMap<>(more);
        env.put("DOCKER_HOST", host().orElseThrow());
        return env;
    }

    /** Builds the project's images unless they are up to date (infra/images/build); fails the test if it cannot. */
    static String buildImages(String... args) {
        List<String> command = new ArrayList<>(List.of("infra/images/build"));
        command.addAll(List.of(args));
        Result r = run(Duration.ofMinutes(25), env(Map.of()), command.toArray(String[]::new));
        if (!r.ok()) {
            throw new AssertionError("infra/images/build failed:\n" + r.output());
        }
        return r.output();
    }

    record Result(int exit, String output) {
        boolean ok() {
            return exit == 0;
        }
    }
}
