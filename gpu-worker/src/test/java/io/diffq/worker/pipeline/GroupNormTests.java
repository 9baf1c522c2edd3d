package io.diffq.worker.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Test;

class GroupNormTests {

    @Test
    void normalisesEachGroupOverItsChannelsAndPositionsThenScalesAndShiftsPerChannel() {
        DjlRuntime.engine();
        try (NDManager manager = NDManager.newBaseManager(DjlRuntime.ENGINE)) {
            GroupNorm norm = new GroupNorm(2, 4);
            norm.initialize(manager, DataType.FLOAT32, new Shape(1, 4, 1, 2));
            norm.getParameters().get("gamma").getArray().set(new float[] {1, 2, 1, 1});
            norm.getParameters().get("beta").getArray().set(new float[] {0, 0, 1, 0});
            // Group 0 holds channels 0 and 1: values 1, 2, 3, 4 (mean 2.5, biased variance 1.25);
            // group 1 holds channels 2 and 3: values 5, 6, 7, 8 (mean 6.5, variance 1.25).
            NDArray x = manager.create(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, new Shape(1, 4, 1, 2));

            float[] y = norm.forward(new ParameterStore(manager, false), new NDList(x), false)
                    .singletonOrThrow().toFloatArray();

            // (x − mean) / √(1.25 + 1e-5): ±1.341635, ±0.447212; channel 1 doubled, channel 2 shifted by 1.
            float[] expected = {-1.341635f, -0.447212f, 2 * 0.447212f, 2 * 1.341635f,
                -1.341635f + 1, -0.447212f + 1, 0.447212f, 1.341635f};
            for (int i = 0; i < expected.length; i++) {
                assertThat(y[i]).as("element %d", i).isCloseTo(expected[i], within(1e-4f));
            }
        }
    }

    @Test
    void keepsTheInputShape() {
        DjlRuntime.engine();
        try (NDManager manager = NDManager.newBaseManager(DjlRuntime.ENGINE)) {
            GroupNorm norm = new GroupNorm(4, 8);
            norm.initialize(manager, DataType.FLOAT32, new Shape(3, 8, 5, 5));
            NDArray y = norm.forward(new ParameterStore(manager, false),
                    new NDList(manager.randomNormal(new Shape(3, 8, 5, 5))), false).singletonOrThrow();
            assertThat(y.getShape()).isEqualTo(new Shape(3, 8, 5, 5));
            // With unit gamma and zero beta each group has mean 0 and variance 1.
            NDArray groups = y.reshape(3, 4, -1);
            assertThat(groups.mean(new int[] {2}).abs().max().getFloat()).isLessThan(1e-4f);
            assertThat(groups.square().mean(new int[] {2}).sub(1).abs().max().getFloat()).isLessThan(1e-3f);
        }
    }

    @Test
    void refusesChannelsThatDoNotSplitIntoGroups() {
        assertThatThrownBy(() -> new GroupNorm(3, 8)).isInstanceOf(IllegalArgumentException.class);
    }
}
