package io.diffq.worker.model.tiny;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import io.diffq.common.model.ModelCard;
import io.diffq.worker.model.DiffusionModel;
import io.diffq.worker.model.Drawing;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.ModelException;
import io.diffq.worker.model.tiny.net.TinyUNet;
import io.diffq.worker.pipeline.DenoisingLoop;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.DjlRuntime;
import io.diffq.worker.pipeline.GuidedText;
import io.diffq.worker.pipeline.Images;
import io.diffq.worker.pipeline.Scheduler;
import io.diffq.worker.pipeline.Schedulers;
import io.diffq.worker.pipeline.StepListener;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The built-in tiny text-to-image model, opened on one device for one consumer thread. It draws
 * {@value TinyUNet#SIZE}×{@value TinyUNet#SIZE} pictures and scales them up (nearest neighbour) to a requested
 * square size that is a multiple of 32, up to 1024 (its {@link #card()}); anything else is refused with
 * {@code unsupported-size}.
 */
public final class TinyDiffusionModel implements DiffusionModel {

    public static final String DEFAULT_SCHEDULER = Schedulers.DDIM;
    /** The guidance scale the tiny model draws best at: its shapes come out cleaner than at 7.5 (docs/models.md). */
    public static final double DEFAULT_GUIDANCE = 5.0;
    /**
     * Square multiples of its {@value TinyUNet#SIZE}-pixel picture up to 1024, 256 by default; every scheduler;
     * guidance {@value #DEFAULT_GUIDANCE} by default.
     */
    static final ModelCard CARD = ModelCard.of("tiny", 256, TinyUNet.SIZE, 1024, TinyUNet.SIZE, true,
            Schedulers.namesWithDefault(DEFAULT_SCHEDULER)).withDefaultGuidance(DEFAULT_GUIDANCE);

    private final Model model;
    private final Predictor<NDList, NDList> predictor;
    private final Vocabulary vocabulary;
    /** Token ids per prompt that the loaded network takes. */
    private final int tokensPerPrompt;

    private TinyDiffusionModel(Model model, Vocabulary vocabulary) {
        this.model = model;
        this.tokensPerPrompt = ((TinyUNet) model.getBlock()).config().maxTokens();
        this.predictor = model.newPredictor(new NoopTranslator(null));
        this.vocabulary = vocabulary;
    }

    /** Opens the weights in {@code dir} (a DJL parameter file plus its config) on {@code device}. */
    public static TinyDiffusionModel open(Path dir, Device device) {
        DjlRuntime.engine();
        Model model = TinyWeights.open(dir, DjlRuntime.device(device));
        try {
            return new TinyDiffusionModel(model, Vocabulary.load());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Opens the committed weights on {@code device}. */
    public static TinyDiffusionModel openCommitted(Device device) {
        return open(CommittedWeights.directory(), device);
    }

    @Override
    public ModelCard card() {
        return CARD;
    }

    @Override
    public List<Drawing> generate(List<GenerationRequest> requests, List<StepListener> listeners) {
        GenerationRequest first = GenerationRequest.firstOfBatch(requests, listeners);
        int factor = scaleFactor(first.width(), first.height());
        Scheduler scheduler;
        try {
            scheduler = Schedulers.create(first.scheduler(), DEFAULT_SCHEDULER, TinyWeights.SCHEDULE,
                    first.steps(), true);
        } catch (IllegalArgumentException e) {
            throw new ModelException("unsupported-parameters", e.getMessage());
        }
        int n = requests.size();
        // The prompts of every job first, then their negative prompts: the order of the guided batch.
        int len = tokensPerPrompt;
        int[] tokens = new int[2 * n * len];
        long[] seeds = new long[n];
        for (int k = 0; k < n; k++) {
            GenerationRequest r = requests.get(k);
            String negative = r.negativePrompt() == null ? "" : r.negativePrompt();
            System.arraycopy(vocabulary.encode(r.prompt(), len), 0, tokens, k * len, len);
            System.arraycopy(vocabulary.encode(negative, len), 0, tokens, (n + k) * len, len);
            seeds[k] = r.seed();
        }
        try (NDManager job = model.getNDManager().newSubManager()) {
            NDArray text = job.create(tokens, new Shape(2L * n, len));
            List<DenoisingLoop.Outcome> outcomes = DenoisingLoop.run(job, scheduler,
                    new Shape(1, 3, TinyUNet.SIZE, TinyUNet.SIZE), seeds, (float) first.guidanceScale(),
                    (samples, t, jobs) -> denoise(samples, t, GuidedText.rows(text, n, jobs, samples.getManager())),
                    listeners);
            List<Drawing> drawings = new ArrayList<>(n);
            for (DenoisingLoop.Outcome o : outcomes) {
                drawings.add(o.stoppedBy() != null ? Drawing.stopped(o.stoppedBy())
                        : Drawing.of(Images.upscale(Images.fromChw(o.sample()), factor)));
            }
            return drawings;
        }
    }

    private NDArray denoise(NDArray samples, int timestep, NDArray text) {
        long rows = samples.getShape().get(0);
        float[] t = new float[(int) rows];
        Arrays.fill(t, timestep);
        try {
            NDArray out = predictor.predict(new NDList(samples, samples.getManager().create(t), text)).get(0);
            out.attach(samples.getManager());
            return out;
        } catch (TranslateException e) {
            throw new ModelException("model-error", "the tiny model failed: " + e.getMessage(), false, e);
        }
    }

    static int scaleFactor(int width, int height) {
        CARD.checkSize(width, height).ifPresent(p -> {
            throw new ModelException("unsupported-size", p.message() + ", not " + width + "×" + height);
        });
        return width / TinyUNet.SIZE;
    }

    @Override
    public void close() {
        try {
            predictor.close();
        } finally {
            model.close();
        }
    }
}
