package io.diffq.worker.model.tiny.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import io.diffq.worker.pipeline.GroupNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A conditioned residual block: inputs (x (N, in, H, W), c (N, cond)). GroupNorm → SiLU → conv, then
 * GroupNorm modulated by the condition (FiLM: {@code h · (1 + scale) + shift}, scale and shift a linear
 * map of c) → SiLU → conv, plus the (1×1-projected) input.
 */
final class ResBlock extends AbstractBlock {

    static final int GROUPS = 8;

    private final int in;
    private final int out;
    private final GroupNorm norm1;
    private final Conv2d conv1;
    private final Linear film;
    private final GroupNorm norm2;
    private final Conv2d conv2;
    private final Conv2d skip;

    ResBlock(int in, int out) {
        this.in = in;
        this.out = out;
        norm1 = addChildBlock("norm1", new GroupNorm(GROUPS, in));
        conv1 = addChildBlock("conv1", Nn.conv3x3(out));
        film = addChildBlock("film", Nn.linear(2L * out));
        norm2 = addChildBlock("norm2", new GroupNorm(GROUPS, out));
        conv2 = addChildBlock("conv2", Nn.conv3x3(out));
        skip = in == out ? null : addChildBlock("skip", Nn.conv1x1(out));
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> p) {
        NDArray x = inputs.get(0);
        NDArray c = inputs.get(1);
        long n = x.getShape().get(0);
        NDArray h = Nn.silu(norm1.forward(store, new NDList(x), training).singletonOrThrow());
        h = Nn.conv(conv1, store, h, training);
        NDList ss = film.forward(store, new NDList(c), training).singletonOrThrow().reshape(n, 2L * out, 1, 1).split(2, 1);
        h = norm2.forward(store, new NDList(h), training).singletonOrThrow();
        h = Nn.silu(h.mul(ss.get(0).add(1f)).add(ss.get(1)));
        h = Nn.conv(conv2, store, h, training);
        NDArray residual = skip == null ? x : Nn.conv(skip, store, x, training);
        return new NDList(h.add(residual));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {new Shape(s.get(0), out, s.get(2), s.get(3))};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape x = inputShapes[0];
        Shape h = new Shape(x.get(0), out, x.get(2), x.get(3));
        norm1.initialize(manager, dataType, x);
        conv1.initialize(manager, dataType, x);
        film.initialize(manager, dataType, inputShapes[1]);
        norm2.initialize(manager, dataType, h);
        conv2.initialize(manager, dataType, h);
        if (skip != null) {
            skip.initialize(manager, dataType, x);
        }
    }
}
