package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;
import java.util.List;
import java.util.Locale;

/** The schedulers jobs may ask for by name. */
public final class Schedulers {

    public static final String DDIM = "ddim";
    public static final String EULER = "euler";
    public static final String DPM_SOLVER = "dpmpp-2m";
    public static final List<String> NAMES = List.of(DDIM, EULER, DPM_SOLVER);

    private Schedulers() {
    }

    /** Every scheduler name with {@code defaultName} first, as a model card lists them. */
    public static List<String> namesWithDefault(String defaultName) {
        List<String> names = new java.util.ArrayList<>(NAMES);
        if (!names.remove(defaultName)) {
            throw new IllegalArgumentException("unknown scheduler " + defaultName);
        }
        names.add(0, defaultName);
        return List.copyOf(names);
    }

    /**
     * A scheduler for one run.
     *
     * @param name       one of {@link #NAMES}; {@code null} or blank means {@code defaultName}
     * @param clipSample whether the predicted picture is clamped to [-1, 1] at each step
     * @throws IllegalArgumentException for an unknown name
     */
    public static Scheduler create(String name, String defaultName, NoiseSchedule schedule, int steps,
            boolean clipSample) {
        String n = name == null || name.isBlank() ? defaultName : name.strip().toLowerCase(Locale.ROOT);
        return switch (n) {
            case DDIM -> new DdimScheduler(schedule, steps, clipSample);
            case EULER -> new EulerScheduler(schedule, steps, clipSample);
            case DPM_SOLVER -> new DpmSolverScheduler(schedule, steps, clipSample);
            default -> throw new IllegalArgumentException("unknown scheduler '" + name + "', expected one of " + NAMES);
        };
    }

    /**
     * Timesteps evenly spaced from the last training step down ("trailing" spacing, which starts at
     * the noisiest timestep): {@code T−1, T−1−T/n, …}.
     */
    static int[] trailingTimesteps(int trainSteps, int steps) {
        if (steps < 1 || steps > trainSteps) {
            throw new IllegalArgumentException("steps must be between 1 and " + trainSteps + ": " + steps);
        }
        int[] t = new int[steps];
        for (int i = 0; i < steps; i++) {
            t[i] = (int) Math.round(trainSteps - i * (double) trainSteps / steps) - 1;
        }
        return t;
    }

    /** x₀ from a model output at a noise level (VP form: sample = a·x₀ + s·ε). */
    static NDArray predictX0(NDArray output, NDArray sample, double a, double s, NoiseSchedule.Prediction p) {
        return switch (p) {
            case V -> sample.mul((float) a).sub(output.mul((float) s));
            case EPSILON -> sample.sub(output.mul((float) s)).div((float) a);
        };
    }
}
