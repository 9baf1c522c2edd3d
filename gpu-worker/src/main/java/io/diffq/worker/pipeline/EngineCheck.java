package io.diffq.worker.pipeline;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads the PyTorch engine the way the worker does and runs one small computation on every device it
 * sees, then exits: 0 when each answered correctly, 1 otherwise. For checking a machine or an image
 * without a broker ({@code java -cp gpu-worker.jar io.diffq.worker.pipeline.EngineCheck}); the worker
 * images run it while they are built, which also unpacks the natives into {@code DJL_CACHE_DIR} once
 * instead of in every container.
 */
public final class EngineCheck {

    private EngineCheck() {
    }

    public static void main(String[] args) {
        System.exit(run() ? 0 : 1);
    }

    static boolean run() {
        Engine engine;
        try {
            engine = DjlRuntime.engine();
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            System.out.println("engine: failed to load PyTorch: " + e);
            return false;
        }
        System.out.printf("engine: %s %s, %d GPU(s) visible%n", engine.getEngineName(), engine.getVersion(),
                engine.getGpuCount());
        List<ai.djl.Device> devices = new ArrayList<>();
        devices.add(ai.djl.Device.cpu());
        for (int i = 0; i < engine.getGpuCount(); i++) {
            devices.add(ai.djl.Device.gpu(i));
        }
        boolean ok = true;
        for (ai.djl.Device device : devices) {
            ok &= check(engine, device);
        }
        return ok;
    }

    /** 1 + 2 + ... + 100 on the device: a kernel ran and its answer came back. */
    private static boolean check(Engine engine, ai.djl.Device device) {
        try (NDManager manager = engine.newBaseManager(device)) {
            NDArray values = manager.arange(1f, 101f);
            float sum = values.sum().getFloat();
            boolean right = sum == 5050f;
            System.out.printf("device %s: sum(1..100) = %s%s%n", device, sum, right ? "" : " (expected 5050)");
            return right;
        } catch (RuntimeException e) {
            System.out.printf("device %s: failed: %s%n", device, e);
            return false;
        }
    }
}
