package io.diffq.worker.gpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Builds the NVML stand-in ({@code src/test/c/fake_nvml.c}) with gcc into a directory. */
final class FakeNvml {

    private FakeNvml() {
    }

    /** Compiles {@code libnvidia-ml.so} into {@code dir}; skips the test where gcc is missing. */
    static Path build(Path dir) throws IOException, InterruptedException {
        Path source = Path.of("src/test/c/fake_nvml.c").toAbsolutePath();
        Path lib = dir.resolve("libnvidia-ml.so");
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-Wall", "-Werror", "-o", lib.toString(),
                    source.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.assumeTrue(false, "gcc is not installed: cannot build the NVML stand-in");
            throw e;
        }
        String out = new String(gcc.getInputStream().readAllBytes());
        if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0 || !Files.exists(lib)) {
            throw new IllegalStateException("gcc failed: " + out);
        }
        return dir;
    }
}
