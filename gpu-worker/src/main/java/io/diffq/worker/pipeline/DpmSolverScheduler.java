package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * DPM-Solver++(2M) (Lu et al., 2022; diffusers' {@code DPMSolverMultistepScheduler} with
 * {@code solver_order=2}, {@code lower_order_final}): a second-order multistep solver of the
 * probability-flow ODE in the data prediction x₀, with {@code α = √ᾱ}, {@code σ = √(1−ᾱ)} and
 * {@code λ = log(α/σ)}. From step i to i+1, with {@code h = λ_{i+1} − λ_i}:
 * {@code x ← (σ_{i+1}/σ_i)·x − α_{i+1}·(e^{−h} − 1)·D}, where {@code D} is the model's x₀ at the first step,
 * and {@code (1 + 1/2r)·x₀_i − (1/2r)·x₀_{i−1}} (with {@code r = h_{i−1}/h}) after it. The last step, to the
 * clean picture, is first order (it lands on x₀). At the same number of steps it is far more accurate than
 * DDIM, which is its first-order special case; it needs no extra model calls.
 */
public final class DpmSolverScheduler extends TrailingScheduler {

    private final double[] lambdas;
    private NDManager run;
    private NDArray previousX0;

    public DpmSolverScheduler(NoiseSchedule schedule, int steps, boolean clipSample) {
        super(schedule, steps, clipSample);
        lambdas = new double[steps];
        for (int i = 0; i < steps; i++) {
            double ab = schedule.alphaBar(timesteps[i]);
            lambdas[i] = 0.5 * Math.log(ab / (1 - ab));
        }
    }

    @Override
    public void start(NDManager runManager) {
        this.run = runManager;
        this.previousX0 = null;
    }

    @Override
    public NDArray step(NDArray output, int i, NDArray sample) {
        double ab = schedule.alphaBar(timesteps[i]);
        NDArray x0 = predictX0(output, sample, ab);
        if (i + 1 == timesteps.length) {
            return x0;
        }
        double abNext = alphaBarAfter(i);
        double sigmaRatio = Math.sqrt((1 - abNext) / (1 - ab));
        double h = lambdas[i + 1] - lambdas[i];
        NDArray d = x0;
        if (previousX0 != null) {
            double r = (lambdas[i] - lambdas[i - 1]) / h;
            d = x0.mul((float) (1 + 1 / (2 * r))).sub(previousX0.mul((float) (1 / (2 * r))));
        }
        NDArray next = sample.mul((float) sigmaRatio).sub(d.mul((float) (Math.sqrt(abNext) * Math.expm1(-h))));
        remember(x0);
        return next;
    }

    @Override
    public void keepRows(NDArray rows) {
        if (previousX0 != null) {
            NDArray kept = previousX0.get(rows);
            kept.attach(run);
            previousX0.close();
            previousX0 = kept;
        }
    }

    /**
     * Keeps this step's x₀ for the next one: it moves to the run's manager (the step's own is closed after
     * the step), and the one it replaces is freed.
     */
    private void remember(NDArray x0) {
        if (run == null) {
            throw new IllegalStateException("start(manager) was not called before the first step");
        }
        x0.attach(run);
        if (previousX0 != null) {
            previousX0.close();
        }
        previousX0 = x0;
    }
}
