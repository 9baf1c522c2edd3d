package io.diffq.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SchedulersTests {

    private static final NoiseSchedule SD_LIKE =
            NoiseSchedule.scaledLinear(1000, 0.00085, 0.012, NoiseSchedule.Prediction.EPSILON);

    @ParameterizedTest
    @CsvSource({"ddim, EPSILON, 20", "ddim, V, 20", "ddim, EPSILON, 1", "euler, EPSILON, 20", "euler, V, 20",
        "euler, V, 7", "dpmpp-2m, EPSILON, 20", "dpmpp-2m, V, 20", "dpmpp-2m, EPSILON, 1", "dpmpp-2m, V, 7"})
    void aPerfectPredictionLeadsBackToTheCleanPicture(String name, NoiseSchedule.Prediction prediction, int steps) {
        DjlRuntime.engine();
        NoiseSchedule schedule = prediction == NoiseSchedule.Prediction.V
                ? NoiseSchedule.cosine(1000, 1e-4, prediction)
                : NoiseSchedule.scaledLinear(1000, 0.00085, 0.012, prediction);
        try (NDManager manager = NDManager.newBaseManager(DjlRuntime.ENGINE)) {
            Shape shape = new Shape(1, 3, 4, 4);
            NDArray x0 = manager.randomUniform(-1, 1, shape);
            Scheduler scheduler = Schedulers.create(name, null, schedule, steps, false);
            // The oracle knows x0: from the model's input (the VP sample a·x0 + s·ε) it recovers ε exactly.
            NDArray result = DenoisingLoop.run(manager, scheduler, shape, 7, 1f, (samples, t, jobs) -> {
                double ab = schedule.alphaBar(t);
                float a = (float) Math.sqrt(ab);
                float s = (float) Math.sqrt(1 - ab);
                NDArray eps = samples.sub(x0.mul(a)).div(s);
                return prediction == NoiseSchedule.Prediction.EPSILON ? eps : eps.mul(a).sub(x0.mul(s));
            }, StepListener.NONE);
            assertThat(result.sub(x0).abs().max().getFloat()).isLessThan(2e-3f);
        }
    }

    /**
     * For Gaussian data x₀ ~ N(μ, s²) the ideal denoiser is known and so is the ODE's exact path: the
     * standardised sample (x_t − √ᾱ·μ)/√(ᾱ·s² + 1 − ᾱ) stays the same all the way down. Compared where the
     * ODE is solved — at the last timestep, before the final jump to x₀ that every scheduler makes the same
     * way — DPM-Solver++(2M), second order, must be several times closer to it than DDIM (first order) at
     * the same number of steps.
     */
    @ParameterizedTest
    @CsvSource({"EPSILON, 8", "EPSILON, 15", "V, 8", "V, 15"})
    void dpmSolverIsMoreAccurateThanDdimAtTheSameSteps(NoiseSchedule.Prediction prediction, int steps) {
        DjlRuntime.engine();
        NoiseSchedule schedule = prediction == NoiseSchedule.Prediction.V
                ? NoiseSchedule.cosine(1000, 1e-4, prediction)
                : NoiseSchedule.scaledLinear(1000, 0.00085, 0.012, prediction);
        double mu = 0.3;
        double s = 0.5;
        Shape shape = new Shape(1, 4, 8, 8);
        try (NDManager manager = NDManager.newBaseManager(DjlRuntime.ENGINE)) {
            NDArray noise = SeededNoise.gaussian(manager, 11, shape);
            double[] errors = new double[2];
            String[] names = {"ddim", "dpmpp-2m"};
            for (int k = 0; k < 2; k++) {
                Scheduler scheduler = Schedulers.create(names[k], null, schedule, steps, false);
                scheduler.start(manager);
                NDArray sample = noise;
                for (int i = 0; i + 1 < steps; i++) {
                    double ab = schedule.alphaBar(scheduler.timestep(i));
                    float a = (float) Math.sqrt(ab);
                    float sd = (float) Math.sqrt(1 - ab);
                    NDArray x0 = sample.sub(a * (float) mu).mul((float) (a * s * s / (ab * s * s + 1 - ab)))
                            .add((float) mu);
                    NDArray eps = sample.sub(x0.mul(a)).div(sd);
                    NDArray out = prediction == NoiseSchedule.Prediction.EPSILON ? eps : eps.mul(a).sub(x0.mul(sd));
                    sample = scheduler.step(out, i, sample);
                }
                double abStart = schedule.alphaBar(scheduler.timestep(0));
                double abEnd = schedule.alphaBar(scheduler.timestep(steps - 1));
                NDArray exact = noise.sub((float) (Math.sqrt(abStart) * mu))
                        .mul((float) Math.sqrt((abEnd * s * s + 1 - abEnd) / (abStart * s * s + 1 - abStart)))
                        .add((float) (Math.sqrt(abEnd) * mu));
                errors[k] = sample.sub(exact).abs().max().getFloat();
            }
            // Measured: 5× (ε, 8 steps) to 86× (ε, 15 steps) smaller.
            assertThat(errors[1]).as("DPM-Solver++ error %s vs DDIM %s", errors[1], errors[0])
                    .isLessThan(errors[0] / 4);
        }
    }

    @Test
    void trailingTimestepsStartAtTheNoisiestStep() {
        assertThat(Schedulers.trailingTimesteps(1000, 20)).startsWith(999, 949, 899).endsWith(49);
        assertThat(Schedulers.trailingTimesteps(1000, 1)).containsExactly(999);
        assertThat(Schedulers.trailingTimesteps(1000, 1000)).startsWith(999, 998).endsWith(0);
    }

    @Test
    void choosesByNameWithTheModelDefaultForNull() {
        assertThat(Schedulers.create(null, "euler", SD_LIKE, 10, false)).isInstanceOf(EulerScheduler.class);
        assertThat(Schedulers.create(" DDIM ", "euler", SD_LIKE, 10, false)).isInstanceOf(DdimScheduler.class);
        assertThat(Schedulers.create("dpmpp-2m", "ddim", SD_LIKE, 10, false)).isInstanceOf(DpmSolverScheduler.class);
        assertThat(Schedulers.create("euler", "ddim", SD_LIKE, 10, false).steps()).isEqualTo(10);
        assertThatThrownBy(() -> Schedulers.create("pndm", "ddim", SD_LIKE, 10, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pndm");
        assertThatThrownBy(() -> Schedulers.create("ddim", "ddim", SD_LIKE, 0, false))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theLoopBatchesConditionalAndUnconditionalPassesAndReportsEveryStep() {
        DjlRuntime.engine();
        try (NDManager manager = NDManager.newBaseManager(DjlRuntime.ENGINE)) {
            List<String> calls = new ArrayList<>();
            Scheduler scheduler = Schedulers.create("ddim", null, SD_LIKE, 5, false);
            DenoisingLoop.run(manager, scheduler, new Shape(1, 3, 2, 2), 1, 3f, (samples, t, jobs) -> {
                assertThat(samples.getShape()).isEqualTo(new Shape(2, 3, 2, 2));
                ai.djl.ndarray.NDList halves = samples.split(2, 0);
                assertThat(halves.get(0).contentEquals(halves.get(1))).as("both passes see the same sample").isTrue();
                return samples.zerosLike();
            }, (step, total) -> calls.add(step + "/" + total));
            assertThat(calls).containsExactly("1/5", "2/5", "3/5", "4/5", "5/5");
        }
    }

    @Test
    void guidanceMovesAwayFromTheUnconditionalOutput() {
        DjlRuntime.engine();
        try (NDManager manager = NDManager.newBaseManager(DjlRuntime.ENGINE)) {
            NDArray batched = manager.create(new float[] {3, 5, 1, 1}, new Shape(2, 2));
            assertThat(Guidance.combine(batched, 2f).toFloatArray()).containsExactly(5f, 9f);
            assertThat(Guidance.combine(batched, 1f).toFloatArray()).containsExactly(3f, 5f);
            assertThat(Guidance.combine(batched, 0f).toFloatArray()).containsExactly(1f, 1f);
        }
    }

    @Test
    void noiseDependsOnTheSeedAlone() {
        assertThat(SeededNoise.gaussian(42, 64)).containsExactly(SeededNoise.gaussian(42, 64));
        assertThat(SeededNoise.gaussian(42, 64)).isNotEqualTo(SeededNoise.gaussian(43, 64));
    }
}
