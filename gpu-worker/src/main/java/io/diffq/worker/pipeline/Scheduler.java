package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * One sampling run of a diffusion scheduler: which timesteps the model is asked about, how the sample is
 * scaled for it, and how a model output moves the sample one step towards the picture. A scheduler
 * object is made for one run ({@link Schedulers#create}) and is not shared between threads.
 */
public interface Scheduler {

    /**
     * Called once, before the first step, with a manager that lives as long as the run: a scheduler that
     * remembers earlier steps keeps its arrays there (each step's own manager is closed after the step).
     */
    default void start(NDManager run) {
    }

    /** The number of denoising steps. */
    int steps();

    /** The training timestep the model sees at step {@code i} (0-based). */
    int timestep(int i);

    /** The factor the initial unit Gaussian noise is multiplied by. */
    float initialNoiseScale();

    /** The sample as the model expects it at step {@code i}. */
    NDArray scaleInput(NDArray sample, int i);

    /** The sample after step {@code i}, from the model's (guided) output at that step. */
    NDArray step(NDArray modelOutput, int i, NDArray sample);

    /**
     * Jobs left a batch: a scheduler that remembers earlier steps keeps only the given rows (indices into
     * the batch's first axis, ascending) of what it remembers, in the run's manager.
     */
    default void keepRows(NDArray rows) {
    }
}
