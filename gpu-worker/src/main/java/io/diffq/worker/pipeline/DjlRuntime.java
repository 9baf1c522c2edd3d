package io.diffq.worker.pipeline;

import ai.djl.engine.Engine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Makes DJL run offline: no model-zoo or native-library downloads ({@code ai.djl.offline=true}) and a
 * writable cache directory ({@code DJL_CACHE_DIR}, read by DJL from the environment or the system
 * properties) into which the PyTorch CPU natives are extracted from the {@code pytorch-native-cpu} jar.
 * Values already set by the environment or the command line win.
 */
public final class DjlRuntime {

    public static final String ENGINE = "PyTorch";

    private DjlRuntime() {
    }

    /** Sets the offline properties (once, before DJL loads its engine) and returns the PyTorch engine. */
    public static synchronized Engine engine() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getenv("DJL_CACHE_DIR") == null && System.getProperty("DJL_CACHE_DIR") == null) {
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "diffq-djl-" + System.getProperty("user.name"));
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            System.setProperty("DJL_CACHE_DIR", dir.toString());
        }
        // Graph-executor profiling would only add latency for our eager, fixed-shape blocks.
        if (System.getProperty("ai.djl.pytorch.graph_optimizer") == null) {
            System.setProperty("ai.djl.pytorch.graph_optimizer", "false");
        }
        return Engine.getEngine(ENGINE);
    }

    /** Maps a worker device to a DJL device. */
    public static ai.djl.Device device(Device device) {
        return device.isGpu() ? ai.djl.Device.gpu(device.gpuIndex()) : ai.djl.Device.cpu();
    }
}
