package io.diffq.worker.model.sd;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
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
import io.diffq.worker.pipeline.DenoisingLoop;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.DjlRuntime;
import io.diffq.worker.pipeline.GuidedText;
import io.diffq.worker.pipeline.Images;
import io.diffq.worker.pipeline.Scheduler;
import io.diffq.worker.pipeline.Schedulers;
import io.diffq.worker.pipeline.StepListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Stable Diffusion from TorchScript files in a model directory (see {@code gpu-worker/scripts/sd/}): the
 * prompt and the negative prompt are tokenized ({@code tokenizer.json}) and encoded together
 * ({@code text_encoder.pt}), the shared denoising loop runs the UNet ({@code unet.pt}) on the latent
 * picture with both texts batched for classifier-free guidance, and the VAE decoder
 * ({@code vae_decoder.pt}) turns the latents, divided by the scaling factor, into pixels. Opened on one
 * device for one consumer thread: it owns three models, their predictors and the tokenizer.
 */
public final class StableDiffusionModel implements DiffusionModel {

    public static final String DEFAULT_SCHEDULER = Schedulers.DDIM;
    static final String TEXT_ENCODER = "text_encoder";
    static final String UNET = "unet";
    static final String VAE_DECODER = "vae_decoder";
    static final String TOKENIZER = "tokenizer.json";

    private final SdConfig config;
    private final ModelCard card;
    private final List<Model> models;
    private final List<Predictor<NDList, NDList>> predictors;
    private final Predictor<NDList, NDList> textEncoder;
    private final Predictor<NDList, NDList> unet;
    private final Predictor<NDList, NDList> vaeDecoder;
    private final PromptTokenizer tokenizer;

    private StableDiffusionModel(SdConfig config, ModelCard card, List<Model> models, PromptTokenizer tokenizer) {
        this.config = config;
        this.card = card;
        this.models = models;
        this.predictors = new ArrayList<>();
        for (Model m : models) {
            predictors.add(m.newPredictor(new NoopTranslator(null)));
        }
        this.textEncoder = predictors.get(0);
        this.unet = predictors.get(1);
        this.vaeDecoder = predictors.get(2);
        this.tokenizer = tokenizer;
    }

    /**
     * Loads the model directory onto {@code device}.
     *
     * @throws IllegalStateException when a file is missing or does not load, naming it
     */
    public static StableDiffusionModel open(String name, Path dir, Device device) {
        DjlRuntime.engine();
        for (String file : List.of(TEXT_ENCODER + ".pt", UNET + ".pt", VAE_DECODER + ".pt", TOKENIZER)) {
            if (!Files.isRegularFile(dir.resolve(file))) {
                throw new IllegalStateException("model " + name + ": " + dir.resolve(file) + " is missing");
            }
        }
        SdConfig config = SdConfig.load(dir);
        ModelCard card = card(name, config); // sizes a card cannot describe fail here, before anything is loaded
        List<Model> models = new ArrayList<>();
        PromptTokenizer tokenizer = null;
        try {
            for (String module : List.of(TEXT_ENCODER, UNET, VAE_DECODER)) {
                Model m = Model.newInstance(module, DjlRuntime.device(device), DjlRuntime.ENGINE);
                models.add(m);
                // mapLocation: modules exported on another device load onto this one.
                m.load(dir, module, Map.of("mapLocation", "true"));
            }
            tokenizer = PromptTokenizer.open(dir.resolve(TOKENIZER), config.textMaxLength(), config.padToken());
            return new StableDiffusionModel(config, card, models, tokenizer);
        } catch (IOException | MalformedModelException | RuntimeException e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            models.forEach(Model::close);
            throw new IllegalStateException("model " + name + ": cannot load " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The sizes and guidance of {@code model.properties}, any aspect ratio, every scheduler ({@code ddim} first). */
    private static ModelCard card(String name, SdConfig config) {
        try {
            return ModelCard.of(name, config.defaultSize(), config.minSize(), config.maxSize(), config.sizeMultiple(),
                    false, Schedulers.namesWithDefault(DEFAULT_SCHEDULER)).withDefaultGuidance(config.defaultGuidance());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(SdConfig.FILE + ": " + e.getMessage(), e);
        }
    }

    @Override
    public ModelCard card() {
        return card;
    }

    @Override
    public List<Drawing> generate(List<GenerationRequest> requests, List<StepListener> listeners) {
        GenerationRequest first = GenerationRequest.firstOfBatch(requests, listeners);
        checkSize(first.width(), first.height());
        Scheduler scheduler;
        try {
            scheduler = Schedulers.create(first.scheduler(), DEFAULT_SCHEDULER, config.schedule(), first.steps(),
                    false);
        } catch (IllegalArgumentException e) {
            throw new ModelException("unsupported-parameters", e.getMessage());
        }
        int n = requests.size();
        int length = tokenizer.length();
        int f = config.vaeScaleFactor();
        Shape latentShape = new Shape(1, config.latentChannels(), first.height() / f, first.width() / f);
        long[] seeds = requests.stream().mapToLong(GenerationRequest::seed).toArray();
        try (NDManager job = models.get(1).getNDManager().newSubManager()) {
            // Each job's two texts are encoded on their own, as when it runs alone; then the conditional rows
            // of every job, and their unconditional rows, make the guided batch's text.
            NDList cond = new NDList(n);
            NDList uncond = new NDList(n);
            for (GenerationRequest r : requests) {
                long[] ids = new long[2 * length];
                System.arraycopy(tokenizer.encode(r.prompt()), 0, ids, 0, length);
                System.arraycopy(tokenizer.encode(r.negativePrompt()), 0, ids, length, length);
                NDArray text = run(textEncoder, new NDList(job.create(ids, new Shape(2, length))), job,
                        "text encoder");
                NDList halves = text.split(2, 0);
                cond.add(halves.get(0));
                uncond.add(halves.get(1));
            }
            NDArray texts = n == 1 ? NDArrays.concat(new NDList(cond.get(0), uncond.get(0)), 0)
                    : NDArrays.concat(cond.addAll(uncond), 0);
            List<DenoisingLoop.Outcome> outcomes = DenoisingLoop.run(job, scheduler, latentShape, seeds,
                    (float) first.guidanceScale(),
                    (samples, t, jobs) -> denoise(samples, t,
                            GuidedText.rows(texts, n, jobs, samples.getManager())),
                    listeners);
            List<Drawing> drawings = new ArrayList<>(n);
            for (DenoisingLoop.Outcome o : outcomes) {
                if (o.stoppedBy() != null) {
                    drawings.add(Drawing.stopped(o.stoppedBy()));
                } else {
                    NDArray pixels = run(vaeDecoder, new NDList(o.sample().div((float) config.scalingFactor())), job,
                            "VAE decoder");
                    drawings.add(Drawing.of(Images.fromChw(pixels)));
                }
            }
            return drawings;
        }
    }

    private NDArray denoise(NDArray samples, int timestep, NDArray text) {
        NDManager step = samples.getManager();
        long[] t = new long[(int) samples.getShape().get(0)];
        Arrays.fill(t, timestep);
        return run(unet, new NDList(samples, step.create(t), text), step, "UNet");
    }

    /** One module call; its first output joins {@code manager}. */
    private static NDArray run(Predictor<NDList, NDList> module, NDList inputs, NDManager manager, String what) {
        try {
            NDArray out = module.predict(inputs).get(0);
            out.attach(manager);
            return out;
        } catch (TranslateException | RuntimeException e) {
            throw new ModelException("model-error", "the " + what + " failed: " + e.getMessage(), false, e);
        }
    }

    private void checkSize(int width, int height) {
        card.checkSize(width, height).ifPresent(p -> {
            throw new ModelException("unsupported-size", p.message() + ", not " + width + "×" + height);
        });
    }

    /** Arrays still held by the three models' managers (a job's must all be gone when it ends). */
    int managedArrays() {
        return models.stream().mapToInt(m -> m.getNDManager().getManagedArrays().size()).sum();
    }

    @Override
    public void close() {
        try {
            predictors.forEach(Predictor::close);
            tokenizer.close();
        } finally {
            models.forEach(Model::close);
        }
    }
}
