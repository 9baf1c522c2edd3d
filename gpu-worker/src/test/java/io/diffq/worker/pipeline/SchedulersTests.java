package io.diffq.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.diffq.worker.model.StepListener;
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
        "euler, V, 7"})
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
            NDArray result = DenoisingLoop.run(manager, scheduler, shape, 7, 1f, (samples, t) -> {
                double ab = schedule.alphaBar(t);
                float a = (float) Math.sqrt(ab);
                float s = (float) Math.sqrt(1 - ab);
                NDArray eps = samples.sub(x0.mul(a)).div(s);
                return prediction == NoiseSchedule.Prediction.EPSILON ? eps : eps.mul(a).sub(x0.mul(s));
            }, StepListener.NONE);
            assertThat(result.sub(x0).abs().max().getFloat()).isLessThan(2e-3f);
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
            DenoisingLoop.run(manager, scheduler, new Shape(1, 3, 2, 2), 1, 3f, (samples, t) -> {
                assertThat(samples.getShape()).isEqualTo(new Shape(2, 3, 2, 2));
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
