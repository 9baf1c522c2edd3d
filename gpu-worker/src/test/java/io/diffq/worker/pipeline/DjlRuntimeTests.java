package io.diffq.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** DJL's PyTorch engine loads offline, with its CPU natives from the jar, into a writable cache. */
class DjlRuntimeTests {

    @Test
    void thePyTorchEngineRunsOffline() {
        Engine engine = DjlRuntime.engine();
        assertThat(engine.getEngineName()).isEqualTo("PyTorch");
        assertThat(System.getProperty("ai.djl.offline")).isEqualTo("true");
        try (NDManager manager = NDManager.newBaseManager(DjlRuntime.ENGINE)) {
            assertThat(manager.ones(new Shape(2, 2)).sum().getFloat()).isEqualTo(4f);
        }
    }

    @Test
    void mapsWorkerDevicesToDjlDevices() {
        assertThat(DjlRuntime.device(Device.CPU)).isEqualTo(ai.djl.Device.cpu());
        assertThat(DjlRuntime.device(Device.gpu(1))).isEqualTo(ai.djl.Device.gpu(1));
    }
}
