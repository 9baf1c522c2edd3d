package io.diffq.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The start-up cache's bookkeeping; a real service trained and started from it: LocalRunnerIntegrationTests. */
class AotCacheTests {

    @Test
    void aJarThatCannotBeTrainedStartsPlainAndIsTriedOncePerBuild(@TempDir Path dir) throws Exception {
        assumeTrue(Runtime.version().feature() >= AotCache.FIRST_JDK, "start-up caches need JDK 25");
        Path jar = Files.writeString(dir.resolve("service.jar"), "not a Spring Boot jar");
        AotCache.Training training = new AotCache.Training(jar, List.of(), List.of(), Map.of());
        List<String> said = new ArrayList<>();

        List<String> first = AotCache.launch(training, Map.of(), said::add);
        List<String> second = AotCache.launch(training, Map.of(), said::add);

        assertThat(first).containsExactly("-jar", jar.toString());
        assertThat(second).isEqualTo(first);
        assertThat(said).hasSize(2); // one training announced, one failure; the second launch tries nothing
        assertThat(said.get(0)).startsWith("preparing service's start-up cache");
        assertThat(said.get(1)).contains("could not be made");
        Path cacheDir = AotCache.directory(jar);
        assertThat(cacheDir.resolve(AotCache.FAILED)).exists();
        assertThat(Files.readString(cacheDir.resolve("training.log"))).isNotBlank(); // why, for whoever looks
    }

    @Test
    void aRebuiltJarGetsAFreshDirectoryAndTheOldOneIsDeleted(@TempDir Path dir) throws Exception {
        assumeTrue(Runtime.version().feature() >= AotCache.FIRST_JDK, "start-up caches need JDK 25");
        Path jar = Files.writeString(dir.resolve("service.jar"), "not a Spring Boot jar");
        AotCache.Training training = new AotCache.Training(jar, List.of(), List.of(), Map.of());
        AotCache.launch(training, Map.of(), m -> { });
        Path before = AotCache.directory(jar);

        Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 60_000));
        Path after = AotCache.directory(jar);
        List<String> said = new ArrayList<>();
        AotCache.launch(training, Map.of(), said::add);

        assertThat(after).isNotEqualTo(before).hasParent(before.getParent());
        assertThat(said).isNotEmpty(); // the new build is tried again ...
        assertThat(before).doesNotExist(); // ... and the old build's directory is gone
        assertThat(after.resolve(AotCache.FAILED)).exists();
    }

    @Test
    void switchedOffTheBootJarStartsAsItIs(@TempDir Path dir) throws Exception {
        Path jar = Files.writeString(dir.resolve("service.jar"), "not a Spring Boot jar");
        List<String> said = new ArrayList<>();

        List<String> launch = AotCache.launch(new AotCache.Training(jar, List.of(), List.of(), Map.of()),
                Map.of("DIFFQ_AOT_CACHE", "0"), said::add);

        assertThat(launch).containsExactly("-jar", jar.toString());
        assertThat(said).isEmpty();
        assertThat(dir.resolve("aot")).doesNotExist();
    }

    @Test
    void aCacheIsTrainedOnceThenFoundAndAnotherClassPathGetsItsOwn(@TempDir Path dir) throws Exception {
        assumeTrue(Runtime.version().feature() >= AotCache.FIRST_JDK, "start-up caches need JDK 25");
        Path cacheDir = AotCache.directory(dir, "program", "a.jar:b.jar");
        AtomicInteger trainings = new AtomicInteger();
        AotCache.Trainer trainer = out -> {
            trainings.incrementAndGet();
            Files.writeString(out, "a cache");
            return true;
        };

        Optional<Path> first = AotCache.cache(cacheDir, "program", Map.of(), trainer, m -> { });
        Optional<Path> second = AotCache.cache(cacheDir, "program", Map.of(), trainer, m -> { });

        assertThat(first).contains(cacheDir.resolve(AotCache.CACHE));
        assertThat(Files.readString(first.orElseThrow())).isEqualTo("a cache");
        assertThat(second).isEqualTo(first);
        assertThat(trainings).hasValue(1);
        assertThat(AotCache.directory(dir, "program", "a.jar:c.jar")).isNotEqualTo(cacheDir);
        assertThat(AotCache.directory(dir, "program", "a.jar:b.jar")).isEqualTo(cacheDir);
    }

    @Test
    void whileOneThreadTrainsAnotherStartsWithoutWaiting(@TempDir Path dir) throws Exception {
        assumeTrue(Runtime.version().feature() >= AotCache.FIRST_JDK, "start-up caches need JDK 25");
        Path cacheDir = AotCache.directory(dir, "program", "a.jar");
        CountDownLatch training = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService trainer = Executors.newSingleThreadExecutor();
        try {
            Future<Optional<Path>> trained = trainer.submit(() -> AotCache.cache(cacheDir, "program", Map.of(), out -> {
                training.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                Files.writeString(out, "a cache");
                return true;
            }, m -> { }));
            assertThat(training.await(10, TimeUnit.SECONDS)).isTrue();

            Optional<Path> meanwhile = AotCache.cache(cacheDir, "program", Map.of(), out -> {
                throw new AssertionError("a second training while the first runs");
            }, m -> { });

            assertThat(meanwhile).isEmpty();
            release.countDown();
            assertThat(trained.get(10, TimeUnit.SECONDS)).contains(cacheDir.resolve(AotCache.CACHE));
        } finally {
            release.countDown();
            trainer.shutdownNow();
        }
    }
}
