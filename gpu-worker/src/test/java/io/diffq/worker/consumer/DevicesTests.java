package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.worker.pipeline.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

class DevicesTests {

    @Test
    void cpuMeansOneCpuConsumer() {
        assertThat(Devices.resolve(List.of("cpu"), 4)).containsExactly(Device.CPU);
    }

    @Test
    void allMeansEveryGpuOrTheCpuWithoutOne() {
        assertThat(Devices.resolve(List.of("all"), 2)).containsExactly(Device.gpu(0), Device.gpu(1));
        assertThat(Devices.resolve(List.of("all"), 0)).containsExactly(Device.CPU);
    }

    @Test
    void indicesSelectGpus() {
        assertThat(Devices.resolve(List.of("2", " 0"), 4)).containsExactly(Device.gpu(2), Device.gpu(0));
    }

    @Test
    void aMissingGpuOrAWrongWordIsAConfigurationError() {
        assertThatThrownBy(() -> Devices.resolve(List.of("3"), 2)).hasMessageContaining("GPU 3 does not exist");
        assertThatThrownBy(() -> Devices.resolve(List.of("gpu"), 2)).hasMessageContaining("neither cpu, all");
    }
}
