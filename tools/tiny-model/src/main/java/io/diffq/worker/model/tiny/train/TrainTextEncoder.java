package io.diffq.worker.model.tiny.train;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.diffq.worker.model.tiny.TinyWeights;
import io.diffq.worker.model.tiny.Vocabulary;
import io.diffq.worker.model.tiny.data.CaptionGrammar;
import io.diffq.worker.model.tiny.data.Captions;
import io.diffq.worker.model.tiny.data.ColourPairs;
import io.diffq.worker.model.tiny.data.Scene;
import io.diffq.worker.model.tiny.data.SceneGenerator;
import io.diffq.worker.model.tiny.net.TinyConfig;
import io.diffq.worker.model.tiny.net.TinyUNet;
import io.diffq.worker.pipeline.DjlRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Gives a trained tiny model a new text encoder that reads the caption grammar, without touching its
 * denoiser: the new encoder (more words, more tokens, optionally role pooling) learns to produce, for a
 * caption in any training construction, the text vector that the old encoder produces for the same
 * scene's plain caption ("a red circle on a blue background", or the partial "a red circle", "a circle on a
 * blue background", "a blue background"; the empty caption for a dropped one). The denoiser already
 * draws well from those vectors, so the new model draws well from every phrasing the new encoder has
 * learnt to read. Text only, so a step is cheap: thousands of steps take minutes on one CPU thread.
 * The auxiliary heads of {@link TrainTinyModel} (shape, shape colour, background from the text vector)
 * are trained alongside and their held-out accuracy is reported: a measure of binding on its own.
 *
 * <p>The result ({@code <out>/export}) is a complete model: the old denoiser's weights and the new
 * encoder. Fine-tune it end to end with {@code TrainTinyModel --init <out>/export}.
 *
 * <pre>
 * java -cp ... io.diffq.worker.model.tiny.train.TrainTextEncoder --teacher DIR --out DIR [--steps 4000]
 *     [--batch 256] [--lr 2e-3] [--seed 1] [--layers 3] [--roles 3 (0: mean pooling)]
 * </pre>
 */
public final class TrainTextEncoder {

    private static final double DROP_CAPTION = 0.1;
    private static final float AUX_WEIGHT = 0.1f;

    private TrainTextEncoder() {
    }

    public static void main(String[] args) throws Exception {
        Path teacherDir = null;
        Path out = Path.of("/tmp/tiny-text");
        int steps = 4000;
        int batch = 256;
        float lr = 2e-3f;
        long seed = 1;
        int layers = 3;
        int roles = 3;
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--teacher" -> teacherDir = Path.of(v);
                case "--out" -> out = Path.of(v);
                case "--steps" -> steps = Integer.parseInt(v);
                case "--batch" -> batch = Integer.parseInt(v);
                case "--lr" -> lr = Float.parseFloat(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--layers" -> layers = Integer.parseInt(v);
                case "--roles" -> roles = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Engine engine = DjlRuntime.engine();
        engine.setRandomSeed((int) seed);
        Vocabulary vocab = Vocabulary.load();
        Path from = teacherDir == null ? TinyWeights.extractCommitted() : teacherDir;
        long started = System.nanoTime();
        try (Model teacherModel = TinyWeights.open(from, ai.djl.Device.cpu());
                NDManager root = NDManager.newBaseManager(ai.djl.Device.cpu(), DjlRuntime.ENGINE)) {
            TinyUNet teacher = (TinyUNet) teacherModel.getBlock();
            TinyConfig config = teacher.config().withText(layers, vocab.size(), Vocabulary.MAX_TOKENS, roles);
            TinyUNet student = new TinyUNet(config);
            student.initialize(root, batch);
            Map<Parameter, Boolean> text = new IdentityHashMap<>();
            student.textEncoder().getParameters().values().forEach(p -> text.put(p, true));
            var teacherParams = teacher.getParameters();
            int copied = 0;
            for (var p : student.getParameters()) {
                if (!text.containsKey(p.getValue())) {
                    teacherParams.get(p.getKey()).getArray().copyTo(p.getValue().getArray());
                    copied++;
                }
            }
            Linear aux = Linear.builder().setUnits(Labels.WIDTH).build();
            aux.setInitializer(new ai.djl.training.initializer.XavierInitializer(), Parameter.Type.WEIGHT);
            aux.initialize(root, DataType.FLOAT32, new Shape(batch, config.condDim()));
            List<NDArray> params = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (var p : student.textEncoder().getParameters()) {
                params.add(p.getValue().getArray());
                names.add(p.getKey());
            }
            int textCount = params.size();
            for (var p : aux.getParameters()) {
                params.add(p.getValue().getArray());
                names.add("aux_" + p.getKey());
            }
            long count = params.subList(0, textCount).stream().mapToLong(NDArray::size).sum();
            System.out.printf(Locale.ROOT, "denoiser from %s (%d parameters copied); new text encoder %s, %d "
                    + "parameters%n", from, copied, config, count);
            Adam adam = new Adam(params, names);
            ParameterStore ps = new ParameterStore(root, false);
            List<ColourPairs.Pair> pairs = ColourPairs.training();
            double lossSum = 0;
            double auxSum = 0;
            int lossN = 0;
            int legacy = teacher.config().maxTokens();
            for (int step = 1; step <= steps; step++) {
                float rate = step < 200 ? lr * step / 200 : (float) (lr * (0.05 + 0.95 * 0.5
                        * (1 + Math.cos(Math.PI * (step - 200) / Math.max(1, steps - 200)))));
                Random rng = new Random(seed * 1_000_003L + step);
                int[] studentTokens = new int[batch * config.maxTokens()];
                int[] teacherTokens = new int[batch * legacy];
                float[] labels = new float[batch * Labels.WIDTH];
                float[] keep = new float[batch];
                for (int b = 0; b < batch; b++) {
                    Scene scene = SceneGenerator.random(rng, pairs);
                    String caption = "";
                    String plain = "";
                    if (rng.nextDouble() >= DROP_CAPTION) {
                        CaptionGrammar.Caption c = CaptionGrammar.training(scene, rng);
                        caption = c.text();
                        plain = plainCaption(scene, c);
                        keep[b] = 1;
                        Labels.write(labels, b, scene, c);
                    }
                    System.arraycopy(vocab.encode(caption, config.maxTokens()), 0, studentTokens,
                            b * config.maxTokens(), config.maxTokens());
                    System.arraycopy(vocab.encode(plain, legacy), 0, teacherTokens, b * legacy, legacy);
                }
                try (NDManager sm = root.newSubManager()) {
                    NDArray target = teacher.textEncoder().forward(ps, new NDList(
                            sm.create(teacherTokens, new Shape(batch, legacy))), false).singletonOrThrow();
                    target = target.stopGradient();
                    NDArray tokens = sm.create(studentTokens, new Shape(batch, config.maxTokens()));
                    NDArray lab = sm.create(labels, new Shape(batch, Labels.WIDTH));
                    NDArray kp = sm.create(keep, new Shape(batch, 1));
                    float lossValue;
                    float auxValue;
                    try (GradientCollector gc = engine.newGradientCollector()) {
                        NDArray vec = student.textEncoder().forward(ps, new NDList(tokens), true).singletonOrThrow();
                        NDArray loss = vec.sub(target).square().mean();
                        NDArray logits = aux.forward(ps, new NDList(vec), true).singletonOrThrow();
                        NDArray ce = Labels.crossEntropy(logits, lab).mul(kp).sum().div(kp.sum().add(1e-6f));
                        gc.backward(loss.add(ce.mul(AUX_WEIGHT)));
                        lossValue = loss.getFloat();
                        auxValue = ce.getFloat();
                    }
                    adam.step(step, rate, sm);
                    lossSum += lossValue;
                    auxSum += auxValue;
                    lossN++;
                }
                if (step % 100 == 0 || step == steps) {
                    System.out.printf(Locale.ROOT, "step %d loss %.5f aux %.4f lr %.2e elapsed %.0fs%n", step,
                            lossSum / lossN, auxSum / lossN, rate, (System.nanoTime() - started) / 1e9);
                    lossSum = 0;
                    auxSum = 0;
                    lossN = 0;
                }
            }
            adam.useAverage(textCount);
            TinyWeights.save(student, out.resolve("export"));
            System.out.printf(Locale.ROOT, "exported to %s after %d steps, %.0f s%n", out.resolve("export"), steps,
                    (System.nanoTime() - started) / 1e9);
            for (CaptionGrammar.Split split : CaptionGrammar.Split.values()) {
                for (boolean heldOutPairs : new boolean[] {false, true}) {
                    double[] acc = Labels.probe(student, aux, ps, root, vocab, split, heldOutPairs, 600, seed);
                    System.out.printf(Locale.ROOT,
                            "probe %s constructions, %s pairs: shape %.3f, shape colour %.3f, background %.3f, "
                                    + "both colours %.3f, swapped %.3f%n",
                            split == CaptionGrammar.Split.TRAINING ? "seen" : "held-out",
                            heldOutPairs ? "held-out" : "seen", acc[0], acc[1], acc[2], acc[3], acc[4]);
                }
            }
        }
    }

    /** The caption the old encoder was trained on that names what {@code c} names. */
    static String plainCaption(Scene scene, CaptionGrammar.Caption c) {
        if (c.namesShape() && c.namesColour() && c.namesBackground()) {
            return Captions.caption(scene, 0);
        }
        if (!c.namesBackground()) {
            return Captions.caption(Captions.SHAPE_ONLY.get(0), scene);
        }
        if (!c.namesColour() && c.namesShape()) {
            return Captions.caption(Captions.NO_SHAPE_COLOUR.get(0), scene);
        }
        return Captions.caption(Captions.BACKGROUND_ONLY.get(0), scene);
    }
}
