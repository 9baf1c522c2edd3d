package io.diffq.worker.model.tiny.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * Token ids (N, L) → one text vector (N, out): learned word and position embeddings, pre-norm
 * transformer layers (self-attention, so a colour word's meaning depends on the words around it), a
 * final norm, a pooling over the non-padding tokens and a linear projection.
 *
 * <p>Pooling: with {@code roles = 0} the mean of the tokens. With {@code roles = R > 0}, R learned role
 * queries (in training they come to stand for the shape, its colour and the background) each attend over
 * the tokens, by a learned key of each token's contextual state, and take the attended words' own
 * embeddings; the R results are concatenated and projected. Context decides which word fills a role ("red"
 * after "circle that is" fills the shape's colour), but the value is the word alone, so the text vector is
 * a sum of one term per role: a colour pair never seen together is a new sum of known terms, where a
 * contextual vector lets training memorise each pair (measured: held-out pairs drawn swapped).
 */
public final class TextEncoder extends AbstractBlock {

    private final int vocab;
    private final int dim;
    private final int outDim;
    private final Parameter wordEmbedding;
    private final Parameter positionEmbedding;
    private final List<LayerNorm> norms1 = new ArrayList<>();
    private final List<SelfAttention> attentions = new ArrayList<>();
    private final List<LayerNorm> norms2 = new ArrayList<>();
    private final List<Linear> ffnIn = new ArrayList<>();
    private final List<Linear> ffnOut = new ArrayList<>();
    private final LayerNorm finalNorm;
    private final int roles;
    private final Parameter roleQueries;
    private final Linear roleKeys;
    private final Linear out;

    public TextEncoder(int vocab, int maxTokens, int dim, int layers, int heads, int outDim, int roles) {
        this.vocab = vocab;
        this.dim = dim;
        this.outDim = outDim;
        this.roles = roles;
        wordEmbedding = addParameter(Parameter.builder().setName("words").setType(Parameter.Type.OTHER)
                .optShape(new Shape(vocab, dim)).optInitializer(new NormalInitializer(0.3f)).build());
        positionEmbedding = addParameter(Parameter.builder().setName("positions").setType(Parameter.Type.OTHER)
                .optShape(new Shape(maxTokens, dim)).optInitializer(new NormalInitializer(0.3f)).build());
        for (int i = 0; i < layers; i++) {
            norms1.add(addChildBlock("ln1_" + i, new LayerNorm(dim)));
            attentions.add(addChildBlock("attn_" + i, new SelfAttention(dim, heads)));
            norms2.add(addChildBlock("ln2_" + i, new LayerNorm(dim)));
            ffnIn.add(addChildBlock("ffn_in_" + i, Nn.linear(2L * dim)));
            ffnOut.add(addChildBlock("ffn_out_" + i, Nn.linear(dim)));
        }
        finalNorm = addChildBlock("ln_final", new LayerNorm(dim));
        if (roles > 0) {
            roleQueries = addParameter(Parameter.builder().setName("role_queries").setType(Parameter.Type.OTHER)
                    .optShape(new Shape(roles, dim)).optInitializer(new NormalInitializer(0.3f)).build());
            roleKeys = addChildBlock("role_keys", Nn.linear(dim));
        } else {
            roleQueries = null;
            roleKeys = null;
        }
        out = addChildBlock("out", Nn.linear(outDim));
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> p) {
        NDArray tokens = inputs.singletonOrThrow();
        long n = tokens.getShape().get(0);
        long len = tokens.getShape().get(1);
        NDArray words = store.getValue(wordEmbedding, tokens.getDevice(), training);
        NDArray positions = store.getValue(positionEmbedding, tokens.getDevice(), training);
        NDArray embedded = tokens.oneHot(vocab).toType(DataType.FLOAT32, false).matMul(words);
        NDArray h = embedded.add(positions);
        NDArray valid = tokens.gt(0).toType(DataType.FLOAT32, false);
        NDArray mask = valid.sub(1f).mul(1e4f).reshape(n, 1, 1, len);
        for (int i = 0; i < attentions.size(); i++) {
            NDArray a = norms1.get(i).forward(store, new NDList(h), training).singletonOrThrow();
            h = h.add(attentions.get(i).forward(store, new NDList(a, mask), training).singletonOrThrow());
            NDArray f = norms2.get(i).forward(store, new NDList(h), training).singletonOrThrow();
            f = Nn.silu(ffnIn.get(i).forward(store, new NDList(f), training).singletonOrThrow());
            h = h.add(ffnOut.get(i).forward(store, new NDList(f), training).singletonOrThrow());
        }
        h = finalNorm.forward(store, new NDList(h), training).singletonOrThrow();
        NDArray pooled;
        if (roles > 0) {
            NDArray queries = store.getValue(roleQueries, tokens.getDevice(), training);
            NDArray keys = roleKeys.forward(store, new NDList(h), training).singletonOrThrow();
            // (N, L, R): how much each token fills each role; padding never does.
            NDArray scores = keys.matMul(queries.transpose()).div((float) Math.sqrt(dim))
                    .add(valid.sub(1f).mul(1e4f).reshape(n, len, 1));
            NDArray weights = scores.softmax(1);
            // What a role takes is the word itself (its embedding, no context): which word fills the role is
            // decided in context, but the vector then says "red as the shape's colour", not "red next to
            // blue", so the text vector is a sum of one term per role and new combinations add up.
            pooled = weights.transpose(0, 2, 1).matMul(embedded).reshape(n, (long) roles * dim);
        } else {
            NDArray w = valid.reshape(n, len, 1);
            pooled = h.mul(w).sum(new int[] {1}).div(w.sum(new int[] {1}));
        }
        return out.forward(store, new NDList(pooled), training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), outDim)};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        long n = inputShapes[0].get(0);
        long len = inputShapes[0].get(1);
        Shape seq = new Shape(n, len, dim);
        for (int i = 0; i < attentions.size(); i++) {
            norms1.get(i).initialize(manager, dataType, seq);
            attentions.get(i).initialize(manager, dataType, seq, new Shape(n, 1, 1, len));
            norms2.get(i).initialize(manager, dataType, seq);
            ffnIn.get(i).initialize(manager, dataType, seq);
            ffnOut.get(i).initialize(manager, dataType, new Shape(n, len, 2L * dim));
        }
        finalNorm.initialize(manager, dataType, seq);
        if (roles > 0) {
            roleKeys.initialize(manager, dataType, seq);
        }
        out.initialize(manager, dataType, new Shape(n, (long) Math.max(1, roles) * dim));
    }
}
