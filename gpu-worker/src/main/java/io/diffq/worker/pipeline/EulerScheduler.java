package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;

/**
 * Euler's method on the probability-flow ODE in σ form (Karras et al., 2022; diffusers'
 * {@code EulerDiscreteScheduler}): the sample is {@code x = x₀ + σ·ε} with {@code σ = √((1−ᾱ)/ᾱ)},
 * the model sees {@code x / √(σ²+1)}, and {@code x ← x + (x − x₀)/σ · (σ_next − σ)}, σ ending at 0.
 */
public final class EulerScheduler extends TrailingScheduler {

    private final double[] sigmas;

    public EulerScheduler(NoiseSchedule schedule, int steps, boolean clipSample) {
        super(schedule, steps, clipSample);
        this.sigmas = new double[steps + 1];
        for (int i = 0; i < steps; i++) {
            double ab = schedule.alphaBar(timesteps[i]);
            sigmas[i] = Math.sqrt((1 - ab) / ab);
        }
    }

    @Override
    public float initialNoiseScale() {
        return (float) sigmas[0];
    }

    @Override
    public NDArray scaleInput(NDArray sample, int i) {
        return sample.div((float) Math.sqrt(sigmas[i] * sigmas[i] + 1));
    }

    @Override
    public NDArray step(NDArray output, int i, NDArray sample) {
        double sigma = sigmas[i];
        double scale = Math.sqrt(sigma * sigma + 1);
        // The model saw the VP sample x/√(σ²+1), at ᾱ = 1/(σ²+1).
        NDArray x0 = predictX0(output, sample.div((float) scale), 1 / (scale * scale));
        NDArray derivative = sample.sub(x0).div((float) sigma);
        return sample.add(derivative.mul((float) (sigmas[i + 1] - sigma)));
    }
}
