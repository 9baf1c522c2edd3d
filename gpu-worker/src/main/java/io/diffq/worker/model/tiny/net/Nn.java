package io.diffq.worker.model.tiny.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;

/** Small building helpers shared by the tiny model's blocks. */
final class Nn {

    private Nn() {
    }

    static NDArray silu(NDArray x) {
        return x.mul(x.getNDArrayInternal().sigmoid());
    }

    static Conv2d conv3x3(int filters) {
        return Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(filters).build();
    }

    static Conv2d conv3x3Stride2(int filters) {
        return Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1))
                .optStride(new Shape(2, 2)).setFilters(filters).build();
    }

    static Conv2d conv1x1(int filters) {
        return Conv2d.builder().setKernelShape(new Shape(1, 1)).setFilters(filters).build();
    }

    /**
     * The channel block of PyTorch's CPU convolutions (oneDNN): 16 with AVX-512, 8 with AVX2. An input whose
     * channel count is not a multiple of it is copied into a buffer padded up to one, and that padding is
     * not zeroed: whatever a freed buffer left there (a NaN is enough) reaches the output, since 0 · NaN is
     * NaN. Measured with PyTorch 2.7.1 (oneDNN 3.7.1): with freed NaN-filled buffers on the heap, 24, 40 and
     * 54 input channels gave NaN in nearly every call, 48 and 64 never; with AVX2 12 channels failed too.
     */
    private static final int CHANNEL_BLOCK = 16;
    /** Below this many input channels oneDNN reads the input unblocked (no padding): measured safe at 3 and 6. */
    private static final int MIN_BLOCKED_CHANNELS = 8;

    /**
     * {@code conv} on {@code x}, with the input channels zero-padded to a multiple of {@link #CHANNEL_BLOCK}
     * (and the weight given zero input channels to match) when oneDNN would pad them itself with garbage. The
     * result is the same convolution; where no padding is needed it is the block's own forward.
     */
    static NDArray conv(Conv2d conv, ParameterStore ps, NDArray x, boolean training) {
        Shape s = x.getShape();
        long c = s.get(1);
        long missing = c < MIN_BLOCKED_CHANNELS || conv.getGroups() != 1 ? 0 : -c & (CHANNEL_BLOCK - 1);
        if (missing == 0) {
            return conv.forward(ps, new NDList(x), training).singletonOrThrow();
        }
        NDArray weight = ps.getValue(conv.getParameters().get("weight"), x.getDevice(), training);
        NDArray bias = ps.getValue(conv.getParameters().get("bias"), x.getDevice(), training);
        Shape w = weight.getShape();
        // Zeros first in both, so that the padded copies join x's manager (an op's result joins its first
        // operand's) rather than the parameters', which would keep them for the model's life.
        NDArray paddedX = NDArrays.concat(new NDList(x.getManager().zeros(new Shape(s.get(0), missing, s.get(2),
                s.get(3)), x.getDataType()), x), 1);
        NDArray paddedWeight = NDArrays.concat(new NDList(x.getManager().zeros(new Shape(w.get(0), missing,
                w.get(2), w.get(3)), weight.getDataType()), weight), 1);
        return Conv2d.conv2d(paddedX, paddedWeight, bias, conv.getStride(), conv.getPadding(), conv.getDilation(),
                conv.getGroups()).singletonOrThrow();
    }

    static Linear linear(long units) {
        return Linear.builder().setUnits(units).build();
    }

    /** (N, C, 2H, 2W) → (N, 4C, H, W): each 2×2 patch becomes channels. */
    static NDArray pixelUnshuffle(NDArray x) {
        Shape s = x.getShape();
        long n = s.get(0);
        long c = s.get(1);
        long h = s.get(2) / 2;
        long w = s.get(3) / 2;
        return x.reshape(n, c, h, 2, w, 2).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * 4, h, w);
    }

    /** The inverse of {@link #pixelUnshuffle}. */
    static NDArray pixelShuffle(NDArray x) {
        Shape s = x.getShape();
        long n = s.get(0);
        long c = s.get(1) / 4;
        long h = s.get(2);
        long w = s.get(3);
        return x.reshape(n, c, 2, 2, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c, h * 2, w * 2);
    }

    /** Nearest-neighbour 2× upsampling of (N, C, H, W). */
    static NDArray upsample2(NDArray x) {
        return x.repeat(2, 2).repeat(3, 2);
    }
}
