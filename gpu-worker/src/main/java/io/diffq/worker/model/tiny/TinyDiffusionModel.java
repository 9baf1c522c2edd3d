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
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.ModelException;
import io.diffq.worker.model.tiny.data.Scene;
import io.diffq.worker.pipeline.DenoisingLoop;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.DjlRuntime;
import io.diffq.worker.pipeline.Images;
import io.diffq.worker.pipeline.Scheduler;
import io.diffq.worker.pipeline.Schedulers;
import io.diffq.worker.pipeline.StepListener;
import java.awt.image.BufferedImage;
import java.nio.file.Path;

/**
 * The built-in tiny text-to-image model, opened on one device for one consumer thread. It draws
 * {@value Scene#SIZE}×{@value Scene#SIZE} pictures and scales them up (nearest neighbour) to a requested
 * square size that is a multiple of 32, up to 1024 (its {@link #card()}); anything else is refused with
 * {@code unsupported-size}.
 */
public final class TinyDiffusionModel implements DiffusionModel {

    public static final String DEFAULT_SCHEDULER = Schedulers.DDIM;
    /** The guidance scale the tiny model draws best at: its shapes come out cleaner than at 7.5 (README). */
    public static final double DEFAULT_GUIDANCE = 5.0;
    /**
     * Square multiples of its {@value Scene#SIZE}-pixel picture up to 1024, 256 by default; every scheduler;
     * guidance {@value #DEFAULT_GUIDANCE} by default.
     */
    static final ModelCard CARD = ModelCard.of("tiny", 256, Scene.SIZE, 1024, Scene.SIZE, true,
            Schedulers.namesWithDefault(DEFAULT_SCHEDULER)).withDefaultGuidance(DEFAULT_GUIDANCE);

    private final Model model;
    private final Predictor<NDList, NDList> predictor;
    private final Vocabulary vocabulary;

    private TinyDiffusionModel(Model model, Vocabulary vocabulary) {
        this.model = model;
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
    public BufferedImage generate(GenerationRequest request, StepListener listener) {
        int factor = scaleFactor(request.width(), request.height());
        Scheduler scheduler;
        try {
            scheduler = Schedulers.create(request.scheduler(), DEFAULT_SCHEDULER, TinyWeights.SCHEDULE,
                    request.steps(), true);
        } catch (IllegalArgumentException e) {
            throw new ModelException("unsupported-parameters", e.getMessage());
        }
        String negative = request.negativePrompt() == null ? "" : request.negativePrompt();
        int[] tokens = new int[2 * Vocabulary.MAX_TOKENS];
        System.arraycopy(vocabulary.encode(request.prompt()), 0, tokens, 0, Vocabulary.MAX_TOKENS);
        System.arraycopy(vocabulary.encode(negative), 0, tokens, Vocabulary.MAX_TOKENS, Vocabulary.MAX_TOKENS);
        try (NDManager job = model.getNDManager().newSubManager()) {
            NDArray text = job.create(tokens, new Shape(2, Vocabulary.MAX_TOKENS));
            NDArray picture = DenoisingLoop.run(job, scheduler, new Shape(1, 3, Scene.SIZE, Scene.SIZE),
                    request.seed(), (float) request.guidanceScale(), (samples, t) -> denoise(samples, t, text),
                    listener);
            return Images.upscale(Images.fromChw(picture), factor);
        }
    }

    private NDArray denoise(NDArray samples, int timestep, NDArray text) {
        NDArray t = samples.getManager().create(new float[] {timestep, timestep});
        try {
            NDArray out = predictor.predict(new NDList(samples, t, text)).get(0);
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
        return width / Scene.SIZE;
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
