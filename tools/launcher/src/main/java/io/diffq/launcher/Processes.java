package io.diffq.launcher;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/** Starting, watching and stopping processes: what the local runner and the tests' process helpers share. */
public final class Processes {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private Processes() {
    }

    /** A start that did not come up: why, with the last lines of its log. */
    public static final class StartFailure extends IllegalStateException {

        public StartFailure(String message) {
            super(message);
        }
    }

    /** This JVM's {@code java}: the services run on the JDK the launcher runs on. */
    public static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * Starts {@code command} in {@code cwd} with {@code env} added, its output appended to {@code log}, input from
     * nothing. {@code detached}: in a session of its own (setsid, where there is one), so that it outlives the
     * launcher and a Ctrl-C in the launcher's terminal does not reach it.
     */
    public static Process start(List<String> command, Path log, Path cwd, Map<String, String> env, boolean detached) {
        List<String> cmd = new ArrayList<>();
        // Run by the JVM, setsid is not a process group leader: it calls setsid() and execs, keeping the pid.
        if (detached && executable("setsid").isPresent()) {
            cmd.add("setsid");
        }
        cmd.addAll(command);
        try {
            Files.createDirectories(log.toAbsolutePath().getParent());
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toAbsolutePath().toFile())
                    .redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            pb.environment().putAll(env);
            return pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An executable of that name on {@code PATH}. */
    public static Optional<Path> executable(String name) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * Waits until {@code ready} holds, checking every {@code every}; a {@link StartFailure} with the log's last lines
     * once the process is gone ("exited during startup") or the time is up.
     */
    public static void await(String name, ProcessHandle process, Duration timeout, Duration every,
            BooleanSupplier ready, Path log, long logOffset) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!running(process)) {
                throw failure(name, "exited during startup", log, logOffset);
            }
            if (ready.getAsBoolean()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw failure(name, "not ready within " + timeout.toSeconds() + "s", log, logOffset);
            }
            sleep(every.toMillis());
        }
    }

    /** A start failure of {@code name}: the reason, then the last 40 lines its log got since {@code offset}. */
    public static StartFailure failure(String name, String why, Path log, long offset) {
        return new StartFailure(name + " " + why + "\n----- last lines of " + log + " -----\n" + tail(log, offset, 40)
                + "\n-----");
    }

    /** An HTTP answer: its status and body. */
    public record Answer(int status, String body) {
    }

    /** What {@code url} answers to a GET within two seconds; empty when nothing does. */
    public static Optional<Answer> request(String url) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2))
                    .build(), HttpResponse.BodyHandlers.ofString());
            return Optional.of(new Answer(r.statusCode(), r.body()));
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** The body of {@code url} when it answers 2xx within two seconds. */
    public static Optional<String> get(String url) {
        return request(url).filter(a -> a.status() / 100 == 2).map(Answer::body);
    }

    /** An actuator health endpoint says {@code UP}. */
    public static boolean healthy(String url) {
        return get(url).map(b -> b.contains("\"UP\"")).orElse(false);
    }

    /**
     * Alive and not a zombie: a process that has exited stays in the table until its parent reaps it (Java's
     * {@link ProcessHandle#isAlive} counts it alive).
     */
    public static boolean running(ProcessHandle p) {
        if (!p.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(p.pid()), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException | RuntimeException e) {
            return p.isAlive(); // gone between the two looks, or no /proc
        }
    }

    /** The process's arguments, as /proc has them (Linux); empty when it is gone. */
    public static List<String> arguments(long pid) {
        try {
            String raw = Files.readString(Path.of("/proc", String.valueOf(pid), "cmdline"), StandardCharsets.UTF_8);
            return List.of(raw.split("\0"));
        } catch (IOException e) {
            return List.of();
        }
    }

    /**
     * SIGTERM to each process (by name), then up to {@code grace} for them all to end, then SIGKILL to whoever is
     * left ({@code warn} is told of each).
     */
    public static void stop(Map<String, ProcessHandle> named, Duration grace, Consumer<String> warn) {
        Collection<ProcessHandle> processes = named.values();
        processes.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + grace.toNanos();
        while (processes.stream().anyMatch(Processes::running) && System.nanoTime() < deadline) {
            sleep(200);
        }
        named.forEach((name, p) -> {
            if (running(p)) {
                warn.accept(name + " did not stop within " + grace.toSeconds() + "s; killing it (SIGKILL)");
                p.destroyForcibly();
            }
        });
        long killDeadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (processes.stream().anyMatch(Processes::running) && System.nanoTime() < killDeadline) {
            sleep(100);
        }
    }

    /** Whether something listens on {@code port}: it cannot be bound on any address, or 127.0.0.1 accepts on it. */
    public static boolean inUse(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true); // a port whose last connection is in TIME_WAIT is free
            s.bind(new InetSocketAddress(port));
        } catch (IOException e) {
            return true;
        }
        return accepts(port);
    }

    /** Whether 127.0.0.1 accepts TCP connections on {@code port}. */
    public static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The size of {@code log}: where the output of the start that follows begins. */
    public static long size(Path log) {
        try {
            return Files.exists(log) ? Files.size(log) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    /** The last {@code lines} lines written to {@code log} from byte {@code offset} on. */
    public static String tail(Path log, long offset, int lines) {
        try {
            byte[] all = Files.readAllBytes(log);
            String text = new String(all, (int) Math.min(offset, all.length), all.length - (int) Math.min(offset,
                    all.length), StandardCharsets.UTF_8);
            List<String> l = text.lines().toList();
            return String.join("\n", l.subList(Math.max(0, l.size() - lines), l.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Sleeps, keeping the interrupt flag if interrupted. */
    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
