package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;

/**
 * Initial noise from the job's seed alone. It is drawn in Java ({@link Random#nextGaussian()} is
 * specified exactly by the JDK), not by the engine, whose generator is global and shared between
 * consumer threads: the same seed gives the same noise on every device and in every thread.
 */
public final class SeededNoise {

    private SeededNoise() {
    }

    public static float[] gaussian(long seed, int count) {
        Random rng = new Random(seed);
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) rng.nextGaussian();
        }
        return out;
    }

    public static NDArray gaussian(NDManager manager, long seed, Shape shape) {
        return manager.create(gaussian(seed, Math.toIntExact(shape.size())), shape);
    }
}
