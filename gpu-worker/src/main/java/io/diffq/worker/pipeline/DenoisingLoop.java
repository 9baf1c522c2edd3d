package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * The sampling loop shared by every model: seeded noise, then for each scheduler step one model call on
 * the conditional and unconditional inputs batched together, guidance, the scheduler's update and the
 * listener. Each step's temporaries live in a sub-manager that is closed before the next step.
 */
public final class DenoisingLoop {

    /** The model at one step. */
    @FunctionalInterface
    public interface GuidedDenoiser {

        /**
         * @param samples  (2N, …): the scaled sample twice, for the conditional then the unconditional pass
         * @param timestep the training timestep
         * @return the model's (2N, …) output, in the same order
         */
        NDArray predict(NDArray samples, int timestep);
    }

    private DenoisingLoop() {
    }

    /**
     * Runs the loop and returns the final sample, attached to {@code manager}.
     *
     * @param shape the shape of one sample batch (N, …)
     */
    public static NDArray run(NDManager manager, Scheduler scheduler, Shape shape, long seed, float guidanceScale,
            GuidedDenoiser model, StepListener listener) {
        NDArray sample = SeededNoise.gaussian(manager, seed, shape).mul(scheduler.initialNoiseScale());
        int total = scheduler.steps();
        scheduler.start(manager);
        for (int i = 0; i < total; i++) {
            NDArray previous = sample;
            try (NDManager step = manager.newSubManager()) {
                sample.tempAttach(step);
                NDArray in = scheduler.scaleInput(sample, i);
                NDArray out = model.predict(NDArrays.concat(new NDList(in, in), 0), scheduler.timestep(i));
                NDArray next = scheduler.step(Guidance.combine(out, guidanceScale), i, sample);
                next.attach(manager);
                sample = next;
            }
            previous.close();
            listener.onStep(i + 1, total);
        }
        return sample;
    }
}
