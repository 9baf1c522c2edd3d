package io.diffq.worker.model.tiny.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Multi-head self-attention over (N, L, D). An optional second input, an additive mask broadcastable to
 * (N, heads, L, L), keeps padding out of every query's view.
 */
final class SelfAttention extends AbstractBlock {

    private final int dim;
    private final int heads;
    private final Linear qkv;
    private final Linear proj;

    SelfAttention(int dim, int heads) {
        this.dim = dim;
        this.heads = heads;
        qkv = addChildBlock("qkv", Nn.linear(3L * dim));
        proj = addChildBlock("proj", Nn.linear(dim));
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> p) {
        NDArray x = inputs.get(0);
        long n = x.getShape().get(0);
        long len = x.getShape().get(1);
        int dh = dim / heads;
        NDList parts = qkv.forward(store, new NDList(x), training).singletonOrThrow().split(3, 2);
        NDArray q = parts.get(0).reshape(n, len, heads, dh).transpose(0, 2, 1, 3);
        NDArray k = parts.get(1).reshape(n, len, heads, dh).transpose(0, 2, 3, 1);
        NDArray v = parts.get(2).reshape(n, len, heads, dh).transpose(0, 2, 1, 3);
        NDArray scores = q.matMul(k).mul(1f / (float) Math.sqrt(dh));
        if (inputs.size() > 1) {
            scores = scores.add(inputs.get(1));
        }
        NDArray out = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(n, len, dim);
        return proj.forward(store, new NDList(out), training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        qkv.initialize(manager, dataType, inputShapes[0]);
        Shape s = inputShapes[0];
        proj.initialize(manager, dataType, new Shape(s.get(0), s.get(1), dim));
    }
}
