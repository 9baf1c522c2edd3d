package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** The text inputs of a guided batch, for the jobs still in it. */
public final class GuidedText {

    private GuidedText() {
    }

    /**
     * From the whole batch's (2N, …) text, the conditional rows of the given jobs and then their unconditional
     * rows, in the order {@link DenoisingLoop.GuidedDenoiser} gets the samples; the text itself while every
     * job is still there.
     *
     * @param n    the number of jobs the batch began with
     * @param jobs the jobs still in it, ascending
     * @param step the step's manager, which a selection joins
     */
    public static NDArray rows(NDArray text, int n, int[] jobs, NDManager step) {
        if (jobs.length == n) {
            return text;
        }
        long[] rows = new long[2 * jobs.length];
        for (int r = 0; r < jobs.length; r++) {
            rows[r] = jobs[r];
            rows[jobs.length + r] = n + jobs[r];
        }
        NDArray selected = text.get(step.create(rows));
        selected.attach(step);
        return selected;
    }
}
