package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * Classifier-free guidance (Ho &amp; Salimans, 2022). The model runs once on a batch that holds the
 * conditional inputs first and the unconditional ones second; the guided output is
 * {@code uncond + scale · (cond − uncond)}.
 */
public final class Guidance {

    private Guidance() {
    }

    /** Splits a (2N, …) output into its conditional and unconditional halves and combines them. */
    public static NDArray combine(NDArray batchedOutput, float scale) {
        NDList halves = batchedOutput.split(2, 0);
        NDArray cond = halves.get(0);
        NDArray uncond = halves.get(1);
        return uncond.add(cond.sub(uncond).mul(scale));
    }
}
