package io.diffq.worker.model.tiny.train;

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
import io.diffq.worker.model.tiny.data.ColourPairs;
import io.diffq.worker.model.tiny.data.Scene;
import io.diffq.worker.model.tiny.data.SceneGenerator;
import io.diffq.worker.model.tiny.net.TinyConfig;
import io.diffq.worker.model.tiny.net.TinyUNet;
import io.diffq.worker.pipeline.DjlRuntime;
import io.diffq.worker.pipeline.NoiseSchedule;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Random;

/**
 * Trains the tiny model on synthetic scenes (training colour pairs only), v-prediction on the cosine
 * schedule, with 10% of the captions dropped for classifier-free guidance and an auxiliary loss that asks
 * the text vector to name the shape, its colour and the background (linear heads, training only).
 * Adam with warm-up, a cosine tail over the last quarter of {@code --steps} and gradient clipping; an
 * exponential moving average (EMA) of the weights is what gets exported. Captions come from the training
 * constructions of {@link CaptionGrammar}; 30% of them name only some attributes ("a red circle", "a circle
 * on a blue background", "a blue background"; the picture still comes from a training pair), so that each
 * attribute's effect is learnt on its own and held-out colour pairs can be composed.
 *
 * <p>Reproducible: the batch at step {@code k} comes from {@code Random(seed, k)} alone, so a resumed
 * run sees the same data. Every {@code --checkpoint-seconds} (and at the end) it writes
 * {@code <out>/checkpoint.ndlist} + {@code state.properties} (weights, Adam moments, EMA; resumed from
 * automatically) and exports the EMA weights to {@code <out>/export} and {@code <out>/snapshots/step-N}.
 *
 * <pre>
 * java -cp "$(cat cp.txt)" io.diffq.worker.model.tiny.train.TrainTinyModel --steps 20000 --out /work/tiny-train
 * </pre>
 */
public final class TrainTinyModel {

    static final double DROP_CAPTION = 0.1;
    static final float AUX_WEIGHT = 0.1f;

    private final Options o;
    private final Vocabulary vocab = Vocabulary.load();
    private final NoiseSchedule schedule = TinyWeights.SCHEDULE;
    private final List<ColourPairs.Pair> pairs = ColourPairs.training();
    /** Token ids per caption: the model's. */
    private int tokensPerCaption;

    private TrainTinyModel(Options o) {
        this.o = o;
    }

    record Options(int steps, Path out, int batch, float lr, long seed, int checkpointSeconds, int logEvery,
            int c1, int c2, int c3, Path init, int c0) {

        static Options parse(String[] args) {
            int steps = 20000;
            Path out = Path.of("/work/tiny-train");
            int batch = 48;
            float lr = 1e-3f;
            long seed = 1;
            int ckpt = 300;
            int log = 25;
            TinyConfig std = TinyConfig.standard(0);
            int c1 = std.c1();
            int c2 = std.c2();
            int c3 = std.c3();
            Path init = null;
            int c0 = std.c0();
            for (int i = 0; i < args.length; i += 2) {
                String v = args[i + 1];
                switch (args[i]) {
                    case "--steps" -> steps = Integer.parseInt(v);
                    case "--out" -> out = Path.of(v);
                    case "--batch" -> batch = Integer.parseInt(v);
                    case "--lr" -> lr = Float.parseFloat(v);
                    case "--seed" -> seed = Long.parseLong(v);
                    case "--checkpoint-seconds" -> ckpt = Integer.parseInt(v);
                    case "--log-every" -> log = Integer.parseInt(v);
                    case "--c1" -> c1 = Integer.parseInt(v);
                    case "--c2" -> c2 = Integer.parseInt(v);
                    case "--c3" -> c3 = Integer.parseInt(v);
                    case "--init" -> init = Path.of(v);
                    case "--c0" -> c0 = Integer.parseInt(v);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            return new Options(steps, out, batch, lr, seed, ckpt, log, c1, c2, c3, init, c0);
        }
    }

    public static void main(String[] args) throws Exception {
        new TrainTinyModel(Options.parse(args)).run();
    }

    private void run() throws Exception {
        Engine engine = DjlRuntime.engine();
        Files.createDirectories(o.out());
        Path statePath = o.out().resolve("state.properties");
        Properties state = new Properties();
        TinyConfig config;
        if (Files.exists(statePath)) {
            try (InputStream in = Files.newInputStream(statePath)) {
                state.load(in);
            }
            config = TinyConfig.fromProperties(state);
        } else if (o.init() != null) {
            try (InputStream in = Files.newInputStream(o.init().resolve("config.properties"))) {
                state.load(in);
            }
            config = TinyConfig.fromProperties(state).withRefinement(o.c0());
            state.clear();
        } else {
            TinyConfig std = TinyConfig.standard(vocab.size());
            config = new TinyConfig(o.c1(), o.c2(), o.c3(), std.textDim(), std.textLayers(), std.condDim(), vocab.size(),
                    o.c0(), std.maxTokens(), std.roles());
        }
        if (config.vocab() != vocab.size()) {
            throw new IllegalStateException("the model has " + config.vocab() + " words, vocab.txt " + vocab.size()
                    + ": give it a new text encoder first (TrainTextEncoder)");
        }
        tokensPerCaption = config.maxTokens();
        engine.setRandomSeed((int) o.seed());
        try (NDManager root = NDManager.newBaseManager(ai.djl.Device.cpu(), DjlRuntime.ENGINE)) {
            TinyUNet unet = new TinyUNet(config);
            unet.initialize(root, o.batch());
            unet.outputWeights().forEach(w -> w.getArray().muli(0));
            if (o.init() != null && !Files.exists(statePath)) {
                copyWeights(o.init(), unet);
            }
            Linear aux = Linear.builder().setUnits(Labels.WIDTH).build();
            aux.setInitializer(new ai.djl.training.initializer.XavierInitializer(), Parameter.Type.WEIGHT);
            aux.initialize(root, DataType.FLOAT32, new Shape(o.batch(), config.condDim()));

            List<NDArray> params = new ArrayList<>();
            List<String> names = new ArrayList<>(unet.getParameters().keys());
            names.addAll(aux.getParameters().keys().stream().map(k -> "aux_" + k).toList());
            unet.getParameters().values().forEach(p -> params.add(p.getArray()));
            int unetCount = params.size();
            aux.getParameters().values().forEach(p -> params.add(p.getArray()));
            Adam adam = new Adam(params, names);
            List<NDArray> m = adam.m;
            List<NDArray> v = adam.v;
            List<NDArray> ema = adam.ema;
            int step = 0;
            double elapsedBefore = 0;
            if (Files.exists(statePath)) {
                step = Integer.parseInt(state.getProperty("step"));
                elapsedBefore = Double.parseDouble(state.getProperty("elapsedSeconds"));
                try (InputStream in = Files.newInputStream(o.out().resolve("checkpoint.ndlist"));
                        NDManager tmp = root.newSubManager()) {
                    NDList saved = NDList.decode(tmp, in);
                    int k = params.size();
                    for (int i = 0; i < k; i++) {
                        saved.get(i).copyTo(params.get(i));
                        saved.get(k + i).copyTo(m.get(i));
                        saved.get(2 * k + i).copyTo(v.get(i));
                        saved.get(3 * k + i).copyTo(ema.get(i));
                    }
                }
                System.out.printf(Locale.ROOT, "resumed at step %d (%.0f s trained)%n", step, elapsedBefore);
            } else {
                long count = params.stream().mapToLong(NDArray::size).sum();
                System.out.printf(Locale.ROOT, "new model %s, %d parameters (incl. aux head)%n", config, count);
            }

            ParameterStore ps = new ParameterStore(root, false);
            long started = System.nanoTime();
            long lastCheckpoint = started;
            double lossSum = 0;
            double auxSum = 0;
            int lossN = 0;
            long dataNanos = 0;
            long modelNanos = 0;
            long adamNanos = 0;
            while (step < o.steps()) {
                step++;
                float lr = learningRate(step);
                long t0 = System.nanoTime();
                try (NDManager sm = root.newSubManager()) {
                    Batch b = batch(step);
                    long t1 = System.nanoTime();
                    dataNanos += t1 - t0;
                    NDArray x = sm.create(b.z, new Shape(o.batch(), 3, Scene.SIZE, Scene.SIZE));
                    NDArray t = sm.create(b.t);
                    NDArray tokens = sm.create(b.tokens, new Shape(o.batch(), tokensPerCaption));
                    NDArray target = sm.create(b.v, new Shape(o.batch(), 3, Scene.SIZE, Scene.SIZE));
                    NDArray labels = sm.create(b.labels, new Shape(o.batch(), Labels.WIDTH));
                    NDArray keep = sm.create(b.keep, new Shape(o.batch(), 1));
                    float lossValue;
                    float auxValue;
                    try (GradientCollector gc = engine.newGradientCollector()) {
                        NDList out = unet.forward(ps, new NDList(x, t, tokens), true);
                        NDArray loss = out.get(0).sub(target).square().mean();
                        NDArray logits = aux.forward(ps, new NDList(out.get(1)), true).singletonOrThrow();
                        NDArray ce = Labels.crossEntropy(logits, labels).mul(keep).sum().div(keep.sum().add(1e-6f));
                        NDArray total = loss.add(ce.mul(AUX_WEIGHT));
                        gc.backward(total);
                        lossValue = loss.getFloat();
                        auxValue = ce.getFloat();
                    }
                    long t2 = System.nanoTime();
                    modelNanos += t2 - t1;
                    if (!Float.isFinite(lossValue) || !Float.isFinite(auxValue)) {
                        // A non-finite loss would poison every weight: skip the batch, drop its gradients.
                        System.out.printf(Locale.ROOT, "step %d: non-finite loss, batch skipped%n", step);
                        adam.skip(sm);
                        continue;
                    }
                    adam.step(step, lr, sm);
                    adamNanos += System.nanoTime() - t2;
                    lossSum += lossValue;
                    auxSum += auxValue;
                    lossN++;
                }
                double elapsed = elapsedBefore + (System.nanoTime() - started) / 1e9;
                if (step % o.logEvery() == 0) {
                    System.out.printf(Locale.ROOT,
                            "step %d loss %.5f aux %.4f lr %.2e max grad norm %.3g elapsed %.0fs (ms/step data %.0f model %.0f "
                                    + "adam %.0f)%n",
                            step, lossSum / lossN, auxSum / lossN, lr, adam.maxGradNorm, elapsed, dataNanos / 1e6 / lossN,
                            modelNanos / 1e6 / lossN, adamNanos / 1e6 / lossN);
                    adam.maxGradNorm = 0;
                    dataNanos = 0;
                    modelNanos = 0;
                    adamNanos = 0;
                    lossSum = 0;
                    auxSum = 0;
                    lossN = 0;
                }
                boolean last = step == o.steps();
                if (last || System.nanoTime() - lastCheckpoint > o.checkpointSeconds() * 1e9) {
                    checkpoint(config, unet, unetCount, params, m, v, ema, step, elapsed);
                    lastCheckpoint = System.nanoTime();
                }
            }
        }
    }

    /**
     * Starts from exported weights (a fine-tune): every parameter the exported network has is copied; those
     * it lacks (a refinement stage added since) keep their initialisation, its output zeroed, so the
     * network starts out computing exactly what the exported one did.
     */
    private static void copyWeights(Path dir, TinyUNet unet) {
        int copied = 0;
        try (ai.djl.Model trained = TinyWeights.open(dir, ai.djl.Device.cpu())) {
            var to = unet.getParameters();
            for (var p : trained.getBlock().getParameters()) {
                p.getValue().getArray().copyTo(to.get(p.getKey()).getArray());
                copied++;
            }
        }
        System.out.printf(Locale.ROOT, "initialised %d of %d parameters from %s%n", copied,
                unet.getParameters().size(), dir);
    }

    private float learningRate(int step) {
        int warmup = 300;
        if (step < warmup) {
            return o.lr() * step / warmup;
        }
        int tailStart = (int) (o.steps() * 0.75);
        if (step <= tailStart) {
            return o.lr();
        }
        double f = (step - tailStart) / (double) (o.steps() - tailStart);
        return (float) (o.lr() * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * f))));
    }

    private record Batch(float[] z, float[] v, float[] t, int[] tokens, float[] labels, float[] keep) {
    }

    private Batch batch(int step) {
        Random rng = new Random(o.seed() * 1_000_003L + step);
        int n = o.batch();
        int px = 3 * Scene.SIZE * Scene.SIZE;
        float[] x0 = new float[px];
        float[] z = new float[n * px];
        float[] vt = new float[n * px];
        float[] t = new float[n];
        int[] tokens = new int[n * tokensPerCaption];
        float[] labels = new float[n * Labels.WIDTH];
        float[] keep = new float[n];
        for (int b = 0; b < n; b++) {
            Scene scene = SceneGenerator.random(rng, pairs);
            boolean drop = rng.nextDouble() < DROP_CAPTION;
            // The caption grammar's training constructions, 30% of them partial ("a red circle", "a circle
            // on a blue background", "a blue background") so that each attribute's effect is learnt on its
            // own and colour pairs never seen together can still be combined.
            CaptionGrammar.Caption caption = CaptionGrammar.training(scene, rng);
            System.arraycopy(vocab.encode(drop ? "" : caption.text(), tokensPerCaption), 0, tokens,
                    b * tokensPerCaption, tokensPerCaption);
            keep[b] = drop ? 0 : 1;
            Labels.write(labels, b, scene, caption);
            int ts = rng.nextInt(schedule.length());
            t[b] = ts;
            double ab = schedule.alphaBar(ts);
            float a = (float) Math.sqrt(ab);
            float s = (float) Math.sqrt(1 - ab);
            scene.writeChw(x0, 0);
            for (int i = 0; i < px; i++) {
                float eps = (float) rng.nextGaussian();
                z[b * px + i] = a * x0[i] + s * eps;
                vt[b * px + i] = a * eps - s * x0[i];
            }
        }
        return new Batch(z, vt, t, tokens, labels, keep);
    }

    private void checkpoint(TinyConfig config, TinyUNet unet, int unetCount, List<NDArray> params, List<NDArray> m,
            List<NDArray> v, List<NDArray> ema, int step, double elapsed) throws IOException {
        Path tmp = o.out().resolve("checkpoint.ndlist.tmp");
        NDList all = new NDList();
        all.addAll(params);
        all.addAll(m);
        all.addAll(v);
        all.addAll(ema);
        try (OutputStream os = Files.newOutputStream(tmp)) {
            all.encode(os);
        }
        Files.move(tmp, o.out().resolve("checkpoint.ndlist"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        // Export the EMA weights through the inference format (DJL Model.save), then restore the raw ones.
        Path snapshot = o.out().resolve("snapshots").resolve(String.format(Locale.ROOT, "step-%06d", step));
        try (NDManager tmpManager = params.get(0).getManager().newSubManager()) {
            List<NDArray> raw = new ArrayList<>();
            for (int i = 0; i < unetCount; i++) {
                NDArray copy = params.get(i).duplicate();
                copy.attach(tmpManager);
                raw.add(copy);
                ema.get(i).copyTo(params.get(i));
            }
            for (Path dir : List.of(snapshot, o.out().resolve("export"))) {
                TinyWeights.save(unet, dir);
            }
            for (int i = 0; i < unetCount; i++) {
                raw.get(i).copyTo(params.get(i));
            }
        }
        Properties state = config.toProperties();
        state.setProperty("step", Integer.toString(step));
        state.setProperty("elapsedSeconds", String.format(Locale.ROOT, "%.1f", elapsed));
        state.setProperty("seed", Long.toString(o.seed()));
        state.setProperty("batch", Integer.toString(o.batch()));
        Path stateTmp = o.out().resolve("state.properties.tmp");
        try (Writer w = Files.newBufferedWriter(stateTmp)) {
            state.store(w, "tiny model training state");
        }
        Files.move(stateTmp, o.out().resolve("state.properties"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        System.out.printf(Locale.ROOT, "checkpoint at step %d -> %s%n", step, snapshot);
    }
}
