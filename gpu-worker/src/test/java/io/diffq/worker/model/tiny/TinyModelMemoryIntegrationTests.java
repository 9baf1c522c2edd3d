package io.diffq.worker.model.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.StepListener;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Native memory stays flat across jobs: every job's tensors live in a scope closed when it ends. Resident
 * memory is read from {@code /proc/self/status}; the Java heap's committed size is taken off it, since a
 * heap that grows into its limit (each job leaves small garbage Java objects behind) is not a leak.
 */
@Isolated("it measures the JVM's resident memory; a class beside it would allocate in the same process")
class TinyModelMemoryIntegrationTests {

    @Test
    void residentMemoryStaysFlatOver200Generations() throws IOException {
        try (TinyDiffusionModel model = TinyDiffusionModel.openCommitted(Device.CPU)) {
            for (int i = 0; i < 20; i++) {
                generate(model, i);
            }
            long before = nativeResidentKb();
            for (int i = 0; i < 200; i++) {
                generate(model, 1000 + i);
            }
            long after = nativeResidentKb();
            // A leaked 32×32 job would hold at least its 2×3×32×32 float samples per step (~25 KB × steps).
            assertThat(after - before).as("growth of RSS less committed heap, KB (before %d KB)", before)
                    .isLessThan(48 * 1024);
        }
    }

    private static void generate(TinyDiffusionModel model, long seed) {
        model.generate(new GenerationRequest("a yellow square on a black background", "", 32, 32, 10, 7.5, seed,
                seed % 2 == 0 ? "ddim" : "euler"), StepListener.NONE);
    }

    private static long nativeResidentKb() throws IOException {
        System.gc();
        long heapKb = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() / 1024;
        return residentKb() - heapKb;
    }

    private static long residentKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
