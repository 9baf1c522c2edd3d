package io.diffq.worker.gpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NvmlTests {

    @Test
    void readsEveryGpuThroughTheNvmlAbi(@TempDir Path dir) throws Exception {
        try (Nvml nvml = Nvml.load(Optional.of(FakeNvml.build(dir))).orElseThrow()) {
            List<GpuSample> gpus = nvml.sample();

            assertThat(nvml.deviceCount()).isEqualTo(2);
            GpuSample h100 = gpus.get(0);
            assertThat(h100.device()).isEqualTo("gpu0");
            assertThat(h100.name()).isEqualTo("NVIDIA H100 80GB HBM3");
            assertThat(h100.uuid()).isEqualTo("GPU-11111111-2222-3333-4444-555555555555");
            assertThat(h100.utilization()).isEqualTo(87);
            assertThat(h100.memoryTotalBytes()).isEqualTo(80.0 * (1L << 30));
            assertThat(h100.memoryUsedBytes()).isEqualTo(20.0 * (1L << 30));
            assertThat(h100.temperature()).isEqualTo(64);
            assertThat(h100.powerWatts()).isCloseTo(312.5, within(1e-9));
            assertThat(gpus.get(1).name()).isEqualTo("NVIDIA A10G");
            assertThat(gpus.get(1).powerWatts()).isCloseTo(58.25, within(1e-9));
        }
    }

    @Test
    void withoutADriverThereIsNoNvml(@TempDir Path empty) {
        Assumptions.assumeFalse(Files.exists(Path.of("/proc/driver/nvidia")), "this machine has an NVIDIA driver");

        assertThat(Nvml.load(Optional.of(empty))).isEmpty();
        assertThat(Nvml.load(Optional.empty())).isEmpty();
    }
}
