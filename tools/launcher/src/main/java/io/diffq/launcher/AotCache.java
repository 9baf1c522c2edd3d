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
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
 *
 * <p>{@link #cache} is the same bookkeeping for any program on a class path of jars: the tests' Kafka brokers
 * (KafkaBrokerProcess) train theirs with one start and a controlled stop.
 */
public final class AotCache {

    /** The first JDK with {@code -XX:AOTCacheOutput} (one-step training). */
    static final int FIRST_JDK = 25;

    /** The cache's file name in its directory. */
    static final String CACHE = "service.aot";

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

    /** Makes a cache at the path it is given (a file that does not exist yet); true when it did. */
    @FunctionalInterface
    public interface Trainer {

        boolean train(Path output) throws IOException;
    }

    /**
     * What follows {@code java} and its own options to start {@code training}'s service: {@code -XX:AOTCache=... -jar
     * extracted.jar} once a cache is ready (made now if missing and nobody else is making it), else {@code -jar
     * boot.jar}. {@code say} hears of a training run before it starts.
     */
    public static List<String> launch(Training training, Map<String, String> env, Consumer<String> say) {
        Path plain = training.bootJar();
        if (!enabled(env)) {
            return List.of("-jar", plain.toString());
        }
        Path dir = directory(plain);
        Path jar = dir.resolve("app").resolve(plain.getFileName());
        return cache(dir, baseName(plain), env, out -> extract(plain, dir) && train(training, jar, dir, out), say)
                .map(cache -> List.of("-XX:AOTCache=" + cache, "-jar", jar.toString()))
                .orElse(List.of("-jar", plain.toString()));
    }

    /**
     * The cache in {@code dir} (see {@link #directory}), which {@code trainer} makes when it is missing: once, under a
     * lock, its failure remembered ({@code training-failed}; {@code dir/training.log} is for the trainer's output).
     * Empty when caches are off ({@link #enabled}), another thread or process is making it, or it could not be made.
     */
    public static Optional<Path> cache(Path dir, String what, Map<String, String> env, Trainer trainer,
            Consumer<String> say) {
        Path cache = dir.resolve(CACHE);
        if (!enabled(env)) {
            return Optional.empty();
        }
        if (Files.isRegularFile(cache)) {
            return Optional.of(cache);
        }
        if (Files.exists(dir.resolve(FAILED))) {
            return Optional.empty();
        }
        ReentrantLock local = LOCKS.computeIfAbsent(dir, d -> new ReentrantLock());
        if (!local.tryLock()) {
            return Optional.empty();
        }
        try {
            Files.createDirectories(dir);
            try (FileChannel channel = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = channel.tryLock()) {
                if (lock == null || Files.exists(dir.resolve(FAILED))) {
                    return Optional.empty();
                }
                if (Files.isRegularFile(cache)) {
                    return Optional.of(cache);
                }
                say.accept("preparing " + what + "'s start-up cache (once; log in " + dir.resolve("training.log") + ")");
                deleteOthers(dir);
                Path tmp = dir.resolve(CACHE + ".tmp");
                Files.deleteIfExists(tmp);
                if (trainer.train(tmp) && Files.isRegularFile(tmp)) {
                    Files.move(tmp, cache, StandardCopyOption.ATOMIC_MOVE);
                    return Optional.of(cache);
                }
                say.accept("the start-up cache could not be made (" + dir.resolve("training.log")
                        + "): starting without it");
                Files.writeString(dir.resolve(FAILED), "see training.log\n");
                return Optional.empty();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            local.unlock();
        }
    }

    /** Whether caches are made and used: a JDK of {@link #FIRST_JDK} or later, and not {@code DIFFQ_AOT_CACHE=0}. */
    public static boolean enabled(Map<String, String> env) {
        return Runtime.version().feature() >= FIRST_JDK && !"0".equals(env.get("DIFFQ_AOT_CACHE"));
    }

    /**
     * {@code parent/NAME-STAMP}, STAMP a digest of {@code key} (what the cache was made from) and of this JDK: a new
     * key or JDK gets a new directory, and training there deletes the other {@code NAME-} directories.
     */
    public static Path directory(Path parent, String name, String key) {
        try {
            String all = key + " " + System.getProperty("java.home") + " " + Runtime.version();
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(all.getBytes(StandardCharsets.UTF_8));
            return parent.resolve(name + "-" + HexFormat.of().formatHex(digest, 0, 6));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A Boot jar's cache directory: {@code aot/NAME-STAMP} beside it, STAMP following the jar's size and time. */
    static Path directory(Path bootJar) {
        return directory(bootJar.resolveSibling("aot"), baseName(bootJar), stamp(List.of(bootJar)));
    }

    /**
     * A {@link #directory} key for a cache made from {@code jars}: each one's path, size and time, which the JVM
     * checks before it takes a cache (a rebuilt jar needs a new one).
     */
    public static String stamp(List<Path> jars) {
        StringBuilder key = new StringBuilder();
        try {
            for (Path jar : jars) {
                key.append(jar).append(' ').append(Files.size(jar)).append(' ')
                        .append(Files.getLastModifiedTime(jar).toMillis()).append('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return key.toString();
    }

    private static String baseName(Path jar) {
        String name = jar.getFileName().toString();
        return name.endsWith(".jar") ? name.substring(0, name.length() - 4) : name;
    }

    /** Earlier builds' and JDKs' directories of this jar: never used again. */
    private static void deleteOthers(Path dir) throws IOException {
        String prefix = dir.getFileName().toString().substring(0, dir.getFileName().toString().lastIndexOf('-') + 1);
        try (Stream<Path> siblings = Files.list(dir.getParent())) {
            for (Path other : siblings.filter(p -> !p.equals(dir) && p.getFileName().toString().startsWith(prefix)
                    && p.getFileName().toString().length() == dir.getFileName().toString().length()).toList()) {
                Trees.delete(other);
            }
        }
    }

    private static boolean extract(Path bootJar, Path dir) throws IOException {
        Path app = dir.resolve("app");
        Path tmp = dir.resolve("app.tmp");
        Trees.delete(tmp);
        Trees.delete(app);
        if (run(List.of(Processes.java(), "-Djarmode=tools", "-jar", bootJar.toString(), "extract", "--destination",
                tmp.toString()), dir, dir.resolve("training.log"), Map.of(), Duration.ofMinutes(2)) != 0) {
            return false;
        }
        Files.move(tmp, app, StandardCopyOption.ATOMIC_MOVE);
        return true;
    }

    private static boolean train(Training training, Path jar, Path dir, Path output) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Processes.java()));
        cmd.addAll(training.jvmOptions());
        cmd.addAll(List.of("-XX:AOTCacheOutput=" + output, "-Dspring.context.exit=onRefresh", "-jar", jar.toString()));
        cmd.addAll(training.args());
        // In a folder of its own, deleted afterwards: relative paths in its environment (a status store, a model
        // cache) land there.
        Path work = Files.createDirectories(dir.resolve("training"));
        int status = run(cmd, work, dir.resolve("training.log"), training.env(), Duration.ofMinutes(3));
        Trees.delete(work);
        return status == 0;
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
}
