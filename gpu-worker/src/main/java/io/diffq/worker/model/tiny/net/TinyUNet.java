package io.diffq.worker.model.tiny.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.util.PairList;
import io.diffq.worker.pipeline.GroupNorm;

/**
 * The tiny text-conditioned denoiser. Inputs: the noisy picture (N, 3, 32, 32), the timestep (N) as
 * float, the token ids (N, {@link TinyConfig#maxTokens()}) as int32. Outputs: the prediction (N, 3, 32, 32)
 * (v-prediction) and the text vector (N, condDim) (used by the training's auxiliary loss).
 *
 * <p>The picture is folded into 2×2 patches (16×16×12), so the network runs at 16, 8 and 4 pixels:
 * a conditioned residual block per level down and up with skip connections, self-attention at 4×4,
 * and the time + text condition modulating every residual block (FiLM after GroupNorm). With
 * {@code c0 > 0} a full-resolution refinement stage follows: a conditioned residual block at 32×32 over the
 * noisy picture, the UNet's prediction and its upsampled last features, whose output is added to the
 * prediction (zero at initialisation).
 */
public final class TinyUNet extends AbstractBlock {

    /** The side of the pictures it draws, in pixels. */
    public static final int SIZE = 32;

    private static final int TIME_FEATURES = 64;

    private final TinyConfig config;
    private final TextEncoder text;
    private final Linear time1;
    private final Linear time2;
    private final Conv2d stem;
    private final ResBlock down16;
    private final Conv2d pool16;
    private final ResBlock down8;
    private final Conv2d pool8;
    private final ResBlock mid1;
    private final GroupNorm attnNorm;
    private final SelfAttention attn;
    private final ResBlock mid2;
    private final Conv2d up4;
    private final ResBlock up8;
    private final Conv2d up8conv;
    private final ResBlock up16;
    private final GroupNorm outNorm;
    private final Conv2d outConv;
    private final Conv2d refineIn;
    private final ResBlock refine;
    private final GroupNorm refineNorm;
    private final Conv2d refineOut;

    public TinyUNet(TinyConfig config) {
        this.config = config;
        int c1 = config.c1();
        int c2 = config.c2();
        int c3 = config.c3();
        text = addChildBlock("text", new TextEncoder(config.vocab(), config.maxTokens(), config.textDim(),
                config.textLayers(), 4, config.condDim(), config.roles()));
        time1 = addChildBlock("time1", Nn.linear(config.condDim()));
        time2 = addChildBlock("time2", Nn.linear(config.condDim()));
        stem = addChildBlock("stem", Nn.conv3x3(c1));
        down16 = addChildBlock("down16", new ResBlock(c1, c1));
        pool16 = addChildBlock("pool16", Nn.conv3x3Stride2(c1));
        down8 = addChildBlock("down8", new ResBlock(c1, c2));
        pool8 = addChildBlock("pool8", Nn.conv3x3Stride2(c2));
        mid1 = addChildBlock("mid1", new ResBlock(c2, c3));
        attnNorm = addChildBlock("attn_norm", new GroupNorm(ResBlock.GROUPS, c3));
        attn = addChildBlock("attn", new SelfAttention(c3, 4));
        mid2 = addChildBlock("mid2", new ResBlock(c3, c3));
        up4 = addChildBlock("up4", Nn.conv3x3(c2));
        up8 = addChildBlock("up8", new ResBlock(2 * c2, c2));
        up8conv = addChildBlock("up8conv", Nn.conv3x3(c1));
        up16 = addChildBlock("up16", new ResBlock(2 * c1, c1));
        outNorm = addChildBlock("out_norm", new GroupNorm(ResBlock.GROUPS, c1));
        outConv = addChildBlock("out", Nn.conv3x3(12));
        int c0 = config.c0();
        refineIn = c0 == 0 ? null : addChildBlock("refine_in", Nn.conv3x3(c0));
        refine = c0 == 0 ? null : addChildBlock("refine", new ResBlock(c0, c0));
        refineNorm = c0 == 0 ? null : addChildBlock("refine_norm", new GroupNorm(ResBlock.GROUPS, c0));
        refineOut = c0 == 0 ? null : addChildBlock("refine_out", Nn.conv3x3(3));
        setInitializer(new XavierInitializer(), Parameter.Type.WEIGHT);
    }

    /** The text encoder alone (token ids → text vector), for training it on its own. */
    public TextEncoder textEncoder() {
        return text;
    }

    public TinyConfig config() {
        return config;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> p) {
        NDArray x = inputs.get(0);
        NDArray t = inputs.get(1);
        NDArray tokens = inputs.get(2);
        long n = x.getShape().get(0);

        NDArray textVec = text.forward(ps, new NDList(tokens), training).singletonOrThrow();
        NDArray temb = timeFeatures(t);
        temb = Nn.silu(time1.forward(ps, new NDList(temb), training).singletonOrThrow());
        temb = time2.forward(ps, new NDList(temb), training).singletonOrThrow();
        NDArray c = Nn.silu(temb.add(textVec));

        NDArray h = Nn.conv(stem, ps, Nn.pixelUnshuffle(x), training);
        NDArray s16 = down16.forward(ps, new NDList(h, c), training).singletonOrThrow();
        h = Nn.conv(pool16, ps, s16, training);
        NDArray s8 = down8.forward(ps, new NDList(h, c), training).singletonOrThrow();
        h = Nn.conv(pool8, ps, s8, training);
        h = mid1.forward(ps, new NDList(h, c), training).singletonOrThrow();
        long c3 = config.c3();
        NDArray a = attnNorm.forward(ps, new NDList(h), training).singletonOrThrow()
                .reshape(n, c3, 16).transpose(0, 2, 1);
        a = attn.forward(ps, new NDList(a), training).singletonOrThrow().transpose(0, 2, 1).reshape(n, c3, 4, 4);
        h = h.add(a);
        h = mid2.forward(ps, new NDList(h, c), training).singletonOrThrow();
        h = Nn.conv(up4, ps, Nn.upsample2(h), training);
        h = up8.forward(ps, new NDList(NDArrays.concat(new NDList(h, s8), 1), c), training).singletonOrThrow();
        h = Nn.conv(up8conv, ps, Nn.upsample2(h), training);
        h = up16.forward(ps, new NDList(NDArrays.concat(new NDList(h, s16), 1), c), training).singletonOrThrow();
        h = Nn.silu(outNorm.forward(ps, new NDList(h), training).singletonOrThrow());
        NDArray out = Nn.pixelShuffle(Nn.conv(outConv, ps, h, training));
        if (refine != null) {
            // Full resolution: the noisy picture, the UNet's prediction and its last features, so that edges
            // and corners can be placed per pixel rather than per 2×2 patch.
            NDArray r = NDArrays.concat(new NDList(x, out, Nn.upsample2(h)), 1);
            r = Nn.conv(refineIn, ps, r, training);
            r = refine.forward(ps, new NDList(r, c), training).singletonOrThrow();
            r = Nn.silu(refineNorm.forward(ps, new NDList(r), training).singletonOrThrow());
            out = out.add(Nn.conv(refineOut, ps, r, training));
        }
        return new NDList(out, textVec);
    }

    /** Sinusoidal features of the timestep (0–999). */
    private static NDArray timeFeatures(NDArray t) {
        int half = TIME_FEATURES / 2;
        float[] freqs = new float[half];
        for (int k = 0; k < half; k++) {
            freqs[k] = (float) Math.exp(-Math.log(10000.0) * k / half);
        }
        NDArray f = t.getManager().create(freqs).reshape(1, half);
        NDArray args = t.reshape(-1, 1).mul(f);
        return NDArrays.concat(new NDList(args.sin(), args.cos()), 1);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        long n = inputShapes[0].get(0);
        return new Shape[] {inputShapes[0], new Shape(n, config.condDim())};
    }

    /** Initialises every parameter for batches of {@code n}. */
    public void initialize(NDManager manager, long n) {
        initialize(manager, DataType.FLOAT32, new Shape(n, 3, SIZE, SIZE), new Shape(n),
                new Shape(n, config.maxTokens()));
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dt, Shape... inputShapes) {
        long n = inputShapes[0].get(0);
        int c1 = config.c1();
        int c2 = config.c2();
        int c3 = config.c3();
        Shape cond = new Shape(n, config.condDim());
        text.initialize(manager, dt, inputShapes[2]);
        time1.initialize(manager, dt, new Shape(n, TIME_FEATURES));
        time2.initialize(manager, dt, cond);
        stem.initialize(manager, dt, new Shape(n, 12, 16, 16));
        down16.initialize(manager, dt, new Shape(n, c1, 16, 16), cond);
        pool16.initialize(manager, dt, new Shape(n, c1, 16, 16));
        down8.initialize(manager, dt, new Shape(n, c1, 8, 8), cond);
        pool8.initialize(manager, dt, new Shape(n, c2, 8, 8));
        mid1.initialize(manager, dt, new Shape(n, c2, 4, 4), cond);
        attnNorm.initialize(manager, dt, new Shape(n, c3, 4, 4));
        attn.initialize(manager, dt, new Shape(n, 16, c3));
        mid2.initialize(manager, dt, new Shape(n, c3, 4, 4), cond);
        up4.initialize(manager, dt, new Shape(n, c3, 8, 8));
        up8.initialize(manager, dt, new Shape(n, 2L * c2, 8, 8), cond);
        up8conv.initialize(manager, dt, new Shape(n, c2, 16, 16));
        up16.initialize(manager, dt, new Shape(n, 2L * c1, 16, 16), cond);
        outNorm.initialize(manager, dt, new Shape(n, c1, 16, 16));
        outConv.initialize(manager, dt, new Shape(n, c1, 16, 16));
        if (refine != null) {
            int c0 = config.c0();
            refineIn.initialize(manager, dt, new Shape(n, 6L + c1, SIZE, SIZE));
            refine.initialize(manager, dt, new Shape(n, c0, SIZE, SIZE), cond);
            refineNorm.initialize(manager, dt, new Shape(n, c0, SIZE, SIZE));
            refineOut.initialize(manager, dt, new Shape(n, c0, SIZE, SIZE));
        }
    }

    /** The output convolutions' weights (the UNet's and the refinement's), zeroed at the start of training. */
    public java.util.List<Parameter> outputWeights() {
        return refineOut == null ? java.util.List.of(outConv.getParameters().get("weight"))
                : java.util.List.of(outConv.getParameters().get("weight"), refineOut.getParameters().get("weight"));
    }
}
