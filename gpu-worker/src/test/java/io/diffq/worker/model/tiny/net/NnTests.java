package io.diffq.worker.model.tiny.net;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.ParameterStore;
import io.diffq.worker.model.tiny.FreedNaNs;
import io.diffq.worker.pipeline.DjlRuntime;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The tiny model's convolutions on PyTorch's CPU engine. */
class NnTests {

    private static final int SIDE = 32;
    private static final int FILTERS = 32;

    /**
     * oneDNN pads an input whose channel count is not a multiple of its block (16 with AVX-512, 8 with AVX2)
     * and reads that padding unzeroed: measured, 24 and 54 channels came out up to 1.5 off a plain sum, and
     * NaN left by a freed buffer made the tiny model draw flat pictures. 54 is the refinement stage's input,
     * 12 the stem's (padded under AVX2), 24 and 40 show the rule; 48 needs no padding. Each must be the
     * convolution summed here in Java, and the same to the bit when freed memory holds NaN.
     */
    @ParameterizedTest
    @ValueSource(ints = {12, 24, 40, 48, 54})
    void aConvolutionIsItsSumWhateverFreedMemoryHolds(int channels) {
        Random random = new Random(channels);
        float[] weights = gaussian(random, FILTERS * channels * 9, 0.1);
        float[] bias = gaussian(random, FILTERS, 0.1);
        float[] input = gaussian(random, 2 * channels * SIDE * SIDE, 1);
        float[] expected = convolve(input, weights, bias, channels);
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu(), DjlRuntime.engine().getEngineName())) {
            Conv2d conv = Nn.conv3x3(FILTERS);
            conv.initialize(manager, DataType.FLOAT32, new Shape(2, channels, SIDE, SIDE));
            conv.getParameters().get("weight").getArray().set(weights);
            conv.getParameters().get("bias").getArray().set(bias);
            NDArray x = manager.create(input, new Shape(2, channels, SIDE, SIDE));
            ParameterStore ps = new ParameterStore(manager, false);

            float[] clean = Nn.conv(conv, ps, x, false).toFloatArray();
            assertThat(maxDifference(clean, expected)).as("off the sum").isLessThan(1e-4);
            for (int round = 0; round < 20; round++) {
                try (NDManager step = manager.newSubManager()) {
                    FreedNaNs.leaveOnTheHeap(step);
                    float[] out = Nn.conv(conv, ps, x, false).toFloatArray();
                    assertThat(maxDifference(out, clean)).as("round %d with NaNs in freed memory", round).isZero();
                }
            }
        }
    }

    private static float[] gaussian(Random random, int count, double scale) {
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) (random.nextGaussian() * scale);
        }
        return out;
    }

    /** A 3×3 convolution, stride 1, zero padding 1, of a (2, channels, SIDE, SIDE) input, in doubles. */
    private static float[] convolve(float[] input, float[] weights, float[] bias, int channels) {
        float[] out = new float[2 * FILTERS * SIDE * SIDE];
        for (int n = 0; n < 2; n++) {
            for (int o = 0; o < FILTERS; o++) {
                for (int y = 0; y < SIDE; y++) {
                    for (int x = 0; x < SIDE; x++) {
                        double sum = bias[o];
                        for (int c = 0; c < channels; c++) {
                            for (int ky = 0; ky < 3; ky++) {
                                int iy = y + ky - 1;
                                for (int kx = 0; kx < 3; kx++) {
                                    int ix = x + kx - 1;
                                    if (iy >= 0 && iy < SIDE && ix >= 0 && ix < SIDE) {
                                        sum += (double) weights[((o * channels + c) * 3 + ky) * 3 + kx]
                                                * input[((n * channels + c) * SIDE + iy) * SIDE + ix];
                                    }
                                }
                            }
                        }
                        out[((n * FILTERS + o) * SIDE + y) * SIDE + x] = (float) sum;
                    }
                }
            }
        }
        return out;
    }

    /** The largest absolute difference; infinite where either holds a NaN. */
    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(max, d);
        }
        return max;
    }
}
