package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The sampling loop shared by every model: seeded noise, then for each scheduler step one model call on
 * the conditional and unconditional inputs batched together, guidance, the scheduler's update and the
 * listeners. Several jobs may run as one batch: each has its own seed and listener, and a listener that throws
 * (its job was canceled, timed out) takes only that job out, before the next step. Each step's temporaries
 * live in a sub-manager that is closed before the next step.
 */
public final class DenoisingLoop {

    /** The model at one step. */
    @FunctionalInterface
    public interface GuidedDenoiser {

        /**
         * @param samples  (2N, …): the scaled samples of the jobs still in the batch twice, for the conditional
         *                 then the unconditional pass
         * @param timestep the training timestep
         * @param jobs     which jobs of the batch the N samples are, by their index in the batch, ascending
         * @return the model's (2N, …) output, in the same order
         */
        NDArray predict(NDArray samples, int timestep, int[] jobs);
    }

    /**
     * How one job of a batch ended: its final sample (1, …), attached to the run's manager, or what its
     * listener threw.
     */
    public record Outcome(NDArray sample, RuntimeException stoppedBy) {

        /** The sample, or the listener's exception thrown. */
        public NDArray sampleOrThrow() {
            if (stoppedBy != null) {
                throw stoppedBy;
            }
            return sample;
        }
    }

    private DenoisingLoop() {
    }

    /**
     * Runs the loop for one job and returns the final sample, attached to {@code manager}; what the listener
     * throws propagates.
     *
     * @param shape the shape of one sample (1, …)
     */
    public static NDArray run(NDManager manager, Scheduler scheduler, Shape shape, long seed, float guidanceScale,
            GuidedDenoiser model, StepListener listener) {
        return run(manager, scheduler, shape, new long[] {seed}, guidanceScale, model, List.of(listener)).get(0)
                .sampleOrThrow();
    }

    /**
     * Runs the loop for a batch of jobs that share the scheduler's kind and steps, the sample shape and the
     * guidance scale. A job's noise comes from its own seed alone.
     *
     * @param shape     the shape of one job's sample (1, …)
     * @param seeds     one per job
     * @param listeners one per job, in the same order
     * @return one outcome per job, in the same order
     */
    public static List<Outcome> run(NDManager manager, Scheduler scheduler, Shape shape, long[] seeds,
            float guidanceScale, GuidedDenoiser model, List<StepListener> listeners) {
        if (listeners.size() != seeds.length || shape.get(0) != 1) {
            throw new IllegalArgumentException("one seed and one listener per job, and a sample shape (1, …)");
        }
        Outcome[] outcomes = new Outcome[seeds.length];
        int[] jobs = new int[seeds.length];
        NDList noise = new NDList(seeds.length);
        for (int k = 0; k < seeds.length; k++) {
            jobs[k] = k;
            noise.add(SeededNoise.gaussian(manager, seeds[k], shape));
        }
        NDArray sample = (seeds.length == 1 ? noise.get(0) : NDArrays.concat(noise, 0))
                .mul(scheduler.initialNoiseScale());
        if (seeds.length > 1) {
            noise.close();
        }
        int total = scheduler.steps();
        scheduler.start(manager);
        for (int i = 0; i < total && jobs.length > 0; i++) {
            NDArray previous = sample;
            try (NDManager step = manager.newSubManager()) {
                sample.tempAttach(step);
                NDArray in = scheduler.scaleInput(sample, i);
                NDArray out = model.predict(NDArrays.concat(new NDList(in, in), 0), scheduler.timestep(i), jobs);
                NDArray next = scheduler.step(Guidance.combine(out, guidanceScale), i, sample);
                next.attach(manager);
                sample = next;
            }
            previous.close();
            int[] staying = tellListeners(jobs, listeners, outcomes, i + 1, total);
            if (staying.length < jobs.length) {
                sample = keep(manager, sample, scheduler, jobs, staying);
                jobs = staying;
            }
        }
        if (jobs.length == 1) {
            outcomes[jobs[0]] = new Outcome(sample, null);
        } else if (jobs.length > 1) {
            NDList rows = sample.split(jobs.length, 0);
            for (int r = 0; r < jobs.length; r++) {
                NDArray row = rows.get(r);
                row.attach(manager);
                outcomes[jobs[r]] = new Outcome(row, null);
            }
            sample.close();
        }
        return Arrays.asList(outcomes);
    }

    /** Each job's listener after a step; returns the jobs whose listener did not throw. */
    private static int[] tellListeners(int[] jobs, List<StepListener> listeners, Outcome[] outcomes, int step,
            int total) {
        List<Integer> staying = new ArrayList<>(jobs.length);
        for (int job : jobs) {
            try {
                listeners.get(job).onStep(step, total);
                staying.add(job);
            } catch (RuntimeException e) {
                outcomes[job] = new Outcome(null, e);
            }
        }
        return staying.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The rows of the jobs that stay, in the sample and in the scheduler's memory. */
    private static NDArray keep(NDManager manager, NDArray sample, Scheduler scheduler, int[] jobs, int[] staying) {
        if (staying.length == 0) {
            sample.close();
            return null;
        }
        long[] rows = new long[staying.length];
        for (int r = 0, k = 0; r < jobs.length && k < staying.length; r++) {
            if (jobs[r] == staying[k]) {
                rows[k++] = r;
            }
        }
        try (NDManager select = manager.newSubManager()) {
            NDArray index = select.create(rows);
            NDArray kept = sample.get(index);
            kept.attach(manager);
            scheduler.keepRows(index);
            sample.close();
            return kept;
        }
    }
}
