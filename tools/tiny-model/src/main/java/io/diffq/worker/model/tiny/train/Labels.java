package io.diffq.worker.model.tiny.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.diffq.worker.model.tiny.Vocabulary;
import io.diffq.worker.model.tiny.data.CaptionGrammar;
import io.diffq.worker.model.tiny.data.ColourPairs;
import io.diffq.worker.model.tiny.data.PaletteColour;
import io.diffq.worker.model.tiny.data.Scene;
import io.diffq.worker.model.tiny.data.SceneGenerator;
import io.diffq.worker.model.tiny.data.ShapeKind;
import io.diffq.worker.model.tiny.net.TinyUNet;
import java.util.List;
import java.util.Random;

/**
 * The auxiliary task of both trainers: linear heads read the shape (3), the shape colour (8) and the
 * background (8) back from the text vector, for the attributes a caption names.
 */
final class Labels {

    static final int WIDTH = 3 + 8 + 8;

    private Labels() {
    }

    /** One-hot targets of sample {@code b} for what its caption names (the rest stays 0: no loss). */
    static void write(float[] labels, int b, Scene scene, CaptionGrammar.Caption c) {
        if (c.namesShape()) {
            labels[b * WIDTH + scene.shape().ordinal()] = 1;
        }
        if (c.namesColour()) {
            labels[b * WIDTH + 3 + scene.shapeColour().ordinal()] = 1;
        }
        if (c.namesBackground()) {
            labels[b * WIDTH + 11 + scene.background().ordinal()] = 1;
        }
    }

    /** Mean over the three heads (shape, shape colour, background) of the cross-entropy, per sample. */
    static NDArray crossEntropy(NDArray logits, NDArray oneHot) {
        NDList parts = logits.split(new long[] {3, 11}, 1);
        NDList targets = oneHot.split(new long[] {3, 11}, 1);
        NDArray sum = null;
        for (int i = 0; i < 3; i++) {
            NDArray nll = parts.get(i).logSoftmax(1).mul(targets.get(i)).sum(new int[] {1}).neg();
            sum = sum == null ? nll : sum.add(nll);
        }
        return sum.div(3f).reshape(-1, 1);
    }

    /**
     * How well the heads read {@code n} full captions of a split's constructions over seen or held-out
     * colour pairs: {shape, shape colour, background, both colours, colours swapped}.
     */
    static double[] probe(TinyUNet unet, Linear aux, ParameterStore ps, NDManager root, Vocabulary vocab,
            CaptionGrammar.Split split, boolean heldOutPairs, int n, long seed) {
        List<CaptionGrammar.Construction> ks = CaptionGrammar.constructions(split);
        List<ColourPairs.Pair> pairs = heldOutPairs ? ColourPairs.heldOut() : ColourPairs.training();
        Random rng = new Random(seed * 31 + (heldOutPairs ? 1 : 0) + split.ordinal() * 2);
        int len = unet.config().maxTokens();
        int[] tokens = new int[n * len];
        Scene[] scenes = new Scene[n];
        for (int i = 0; i < n; i++) {
            scenes[i] = SceneGenerator.random(rng, pairs);
            String text = CaptionGrammar.full(scenes[i], ks.get(i % ks.size()), rng).text();
            System.arraycopy(vocab.encode(text, len), 0, tokens, i * len, len);
        }
        double[] hits = new double[5];
        try (NDManager sm = root.newSubManager()) {
            NDArray vec = unet.textEncoder().forward(ps, new NDList(sm.create(tokens, new Shape(n, len))), false)
                    .singletonOrThrow();
            float[] logits = aux.forward(ps, new NDList(vec), false).singletonOrThrow().toFloatArray();
            for (int i = 0; i < n; i++) {
                ShapeKind shape = ShapeKind.values()[argmax(logits, i * WIDTH, 3)];
                PaletteColour colour = PaletteColour.values()[argmax(logits, i * WIDTH + 3, 8)];
                PaletteColour background = PaletteColour.values()[argmax(logits, i * WIDTH + 11, 8)];
                hits[0] += shape == scenes[i].shape() ? 1 : 0;
                hits[1] += colour == scenes[i].shapeColour() ? 1 : 0;
                hits[2] += background == scenes[i].background() ? 1 : 0;
                hits[3] += colour == scenes[i].shapeColour() && background == scenes[i].background() ? 1 : 0;
                hits[4] += colour == scenes[i].background() && background == scenes[i].shapeColour() ? 1 : 0;
            }
        }
        for (int i = 0; i < hits.length; i++) {
            hits[i] /= n;
        }
        return hits;
    }

    private static int argmax(float[] values, int from, int count) {
        int best = 0;
        for (int i = 1; i < count; i++) {
            if (values[from + i] > values[from + best]) {
                best = i;
            }
        }
        return best;
    }
}
