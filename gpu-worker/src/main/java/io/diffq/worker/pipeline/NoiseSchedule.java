package io.diffq.worker.pipeline;

/**
 * A discrete diffusion noise schedule: {@code alphaBar(t)}, the fraction of signal variance left at
 * training timestep {@code t} (0 = clean, {@code length - 1} = almost pure noise), and what the model
 * predicts there.
 */
public final class NoiseSchedule {

    /** What a denoiser outputs. */
    public enum Prediction {
        /** the added noise ε */
        EPSILON,
        /** v = √ᾱ·ε − √(1−ᾱ)·x₀ (Salimans &amp; Ho, 2022) */
        V
    }

    private final double[] alphaBar;
    private final Prediction prediction;

    public NoiseSchedule(double[] alphaBar, Prediction prediction) {
        this.alphaBar = alphaBar.clone();
        this.prediction = prediction;
    }

    /**
     * The cosine schedule (Nichol &amp; Dhariwal, 2021) over {@code length} steps, floored at
     * {@code minAlphaBar} so that the last step keeps a finite noise level (Euler needs σ_max).
     */
    public static NoiseSchedule cosine(int length, double minAlphaBar, Prediction prediction) {
        double s = 0.008;
        double f0 = f(0, length, s);
        double[] ab = new double[length];
        for (int t = 0; t < length; t++) {
            ab[t] = Math.max(minAlphaBar, Math.min(1.0, f(t + 1, length, s) / f0));
        }
        return new NoiseSchedule(ab, prediction);
    }

    /** The "scaled linear" schedule of Stable Diffusion: β from 0.00085 to 0.012 in √ space. */
    public static NoiseSchedule scaledLinear(int length, double betaStart, double betaEnd, Prediction prediction) {
        return fromBetas(length, t -> {
            double sb = Math.sqrt(betaStart) + (Math.sqrt(betaEnd) - Math.sqrt(betaStart)) * t / (length - 1);
            return sb * sb;
        }, prediction);
    }

    /** The linear schedule of DDPM (Ho et al., 2020): β evenly spaced from {@code betaStart} to {@code betaEnd}. */
    public static NoiseSchedule linear(int length, double betaStart, double betaEnd, Prediction prediction) {
        return fromBetas(length, t -> betaStart + (betaEnd - betaStart) * t / (length - 1), prediction);
    }

    private static NoiseSchedule fromBetas(int length, java.util.function.IntToDoubleFunction beta,
            Prediction prediction) {
        double[] ab = new double[length];
        double prod = 1;
        for (int t = 0; t < length; t++) {
            prod *= 1 - beta.applyAsDouble(t);
            ab[t] = prod;
        }
        return new NoiseSchedule(ab, prediction);
    }

    private static double f(double t, int length, double s) {
        double c = Math.cos((t / length + s) / (1 + s) * Math.PI / 2);
        return c * c;
    }

    public int length() {
        return alphaBar.length;
    }

    public double alphaBar(int t) {
        return alphaBar[t];
    }

    public Prediction prediction() {
        return prediction;
    }
}
