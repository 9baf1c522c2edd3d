package io.diffq.launcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A Spring Boot service started from JDK 25's ahead-of-time cache (JEP 483, JEP 514): the classes it loads and links
 * while starting, read from one mapped file instead of found, parsed and verified in every JVM. A gateway becomes
 * healthy in about half the time (docs/configuration.md, "Start-up").
 *
 * <p>A cache holds classes from plain jars on the class path only, so the Boot jar is first extracted
 * ({@code -Djarmode=tools extract}: the application jar and {@code lib/}); a training run then starts the service to
 * the end of its context refresh ({@code -Dspring.context.exit=onRefresh}, no broker contacted, no port bound) and
 * writes the cache. Both live beside the Boot jar, in {@code aot/NAME-STAMP/}, STAMP naming the jar's size and time
 * and the JDK: a rebuilt jar or another JDK gets a new one, the old is deleted. Preparation happens once per build
 * and JDK, under a lock; whoever finds it under way, or finds a JDK before 25, or {@code DIFFQ_AOT_CACHE=0}, starts
 * the plain Boot jar instead (the same service, only slower to start). The JVM itself refuses a cache that does not
 * match the class path or the JVM (a warning, then a normal start), so a stale cache costs time, never correctness.
 */
public final class AotCache {

    /** The first JDK with {@code -XX:AOTCacheOutput} (one-step training). */
    static final int FIRST_JDK = 25;

    /** Left by a training run that failed: this build and JDK start without a cache (its log says why). */
    static final String FAILED = "training-failed";

    private static final Map<Path, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    private AotCache() {
    }

    /** A service to train: its Boot jar, and the JVM options, arguments and environment its training run needs. */
    public record Training(Path bootJar, List<String> jvmOptions, List<String> args, Map<String, String> env) {

        public Training {
            bootJar = bootJar.toAbsolutePath().normalize();
            jvmOptions = List.copyOf(jvmOptions);
            args = List.copyOf(args);
            env = Map.copyOf(env);
        }
    }

    /**
     * What follows {@code java} and its own options to start {@code training}'s service: {@code -XX:AOTCache=... -jar
     * extracted.jar} once a cache is ready (made now if missing and nobody else is making it), else {@code -jar
     * boot.jar}. {@code say} hears of a training run before it starts.
     */
    public static List<String> launch(Training training, Map<String, String> env, Consumer<String> say) {
        if (!enabled(env)) {
            return List.of("-jar", training.bootJar().toString());
        }
        Path dir = directory(training.bootJar());
        Path jar = dir.resolve("app").resolve(training.bootJar().getFileName());
        Path cache = dir.resolve("service.aot");
        if (!Files.isRegularFile(cache) && (Files.exists(dir.resolve(FAILED)) || !prepare(training, dir, cache, say))) {
            return List.of("-jar", training.bootJar().toString());
        }
        return List.of("-XX:AOTCache=" + cache, "-jar", jar.toString());
    }

    /** Whether caches are made and used: a JDK of {@link #FIRST_JDK} or later, and not {@code DIFFQ_AOT_CACHE=0}. */
    public static boolean enabled(Map<String, String> env) {
        return Runtime.version().feature() >= FIRST_JDK && !"0".equals(env.get("DIFFQ_AOT_CACHE"));
    }

    /** {@code aot/NAME-STAMP} beside the Boot jar: STAMP changes with the jar (size, time) and with the JDK. */
    static Path directory(Path bootJar) {
        try {
            String key = Files.size(bootJar) + " " + Files.getLastModifiedTime(bootJar).toMillis() + " "
                    + System.getProperty("java.home") + " " + Runtime.version();
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return bootJar.resolveSibling("aot").resolve(baseName(bootJar) + "-" + HexFormat.of().formatHex(digest, 0, 6));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String baseName(Path jar) {
        String name = jar.getFileName().toString();
        return name.endsWith(".jar") ? name.substring(0, name.length() - 4) : name;
    }

    /** Extracts and trains under the lock; false when another thread or process holds it, or the training failed. */
    private static boolean prepare(Training training, Path dir, Path cache, Consumer<String> say) {
        ReentrantLock local = LOCKS.computeIfAbsent(dir, d -> new ReentrantLock());
        if (!local.tryLock()) {
            return false;
        }
        try {
            Files.createDirectories(dir);
            try (FileChannel channel = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = channel.tryLock()) {
                if (lock == null) {
                    return false;
                }
                if (Files.isRegularFile(cache)) {
                    return true;
                }
                if (Files.exists(dir.resolve(FAILED))) {
                    return false;
                }
                say.accept("preparing " + baseName(training.bootJar()) + "'s start-up cache (once per build: extract, "
                        + "then a training run; log in " + dir.resolve("training.log") + ")");
                deleteOthers(dir);
                if (extract(training.bootJar(), dir) && train(training, dir, cache)) {
                    return true;
                }
                say.accept("the start-up cache could not be made (" + dir.resolve("training.log")
                        + "): starting without it");
                Files.writeString(dir.resolve(FAILED), "see training.log\n");
                return false;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            local.unlock();
        }
    }

    /** Earlier builds' and JDKs' directories of this jar: never used again. */
    private static void deleteOthers(Path dir) throws IOException {
        String prefix = dir.getFileName().toString().substring(0, dir.getFileName().toString().lastIndexOf('-') + 1);
        try (Stream<Path> siblings = Files.list(dir.getParent())) {
            for (Path other : siblings.filter(p -> !p.equals(dir) && p.getFileName().toString().startsWith(prefix)
                    && p.getFileName().toString().length() == dir.getFileName().toString().length()).toList()) {
                deleteTree(other);
            }
        }
    }

    private static boolean extract(Path bootJar, Path dir) throws IOException {
        Path app = dir.resolve("app");
        Path tmp = dir.resolve("app.tmp");
        deleteTree(tmp);
        deleteTree(app);
        if (run(List.of(Processes.java(), "-Djarmode=tools", "-jar", bootJar.toString(), "extract", "--destination",
                tmp.toString()), dir, dir.resolve("training.log"), Map.of(), Duration.ofMinutes(2)) != 0) {
            return false;
        }
        Files.move(tmp, app, StandardCopyOption.ATOMIC_MOVE);
        return true;
    }

    private static boolean train(Training training, Path dir, Path cache) throws IOException {
        Path jar = dir.resolve("app").resolve(training.bootJar().getFileName());
        Path tmp = dir.resolve("service.aot.tmp");
        Files.deleteIfExists(tmp);
        List<String> cmd = new ArrayList<>(List.of(Processes.java()));
        cmd.addAll(training.jvmOptions());
        cmd.addAll(List.of("-XX:AOTCacheOutput=" + tmp, "-Dspring.context.exit=onRefresh", "-jar", jar.toString()));
        cmd.addAll(training.args());
        // In a folder of its own, deleted afterwards: relative paths in its environment (a status store, a model
        // cache) land there.
        Path work = Files.createDirectories(dir.resolve("training"));
        int status = run(cmd, work, dir.resolve("training.log"), training.env(), Duration.ofMinutes(3));
        deleteTree(work);
        if (status != 0 || !Files.isRegularFile(tmp)) {
            return false;
        }
        Files.move(tmp, cache, StandardCopyOption.ATOMIC_MOVE);
        return true;
    }

    /** Runs {@code cmd} in {@code cwd}, its output appended to {@code log}; its exit status, -1 past the timeout. */
    private static int run(List<String> cmd, Path cwd, Path log, Map<String, String> env, Duration timeout) {
        Process p = Processes.start(cmd, log, cwd, env, false);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                return -1;
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static void deleteTree(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> all = Files.walk(path)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
