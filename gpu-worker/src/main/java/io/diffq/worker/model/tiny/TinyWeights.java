package io.diffq.worker.model.tiny;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import io.diffq.worker.model.tiny.net.TinyConfig;
import io.diffq.worker.model.tiny.net.TinyUNet;
import io.diffq.worker.pipeline.DjlRuntime;
import io.diffq.worker.pipeline.NoiseSchedule;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Properties;

/**
 * The tiny model's weights on disk: a DJL parameter file ({@code tiny-0000.params}, written by
 * {@link Model#save}) and {@code config.properties} (the {@link TinyConfig}). The committed copy lives on
 * the classpath under {@value #RESOURCE_DIR}.
 */
public final class TinyWeights {

    /**
     * What DJL names the parameter file after ({@code tiny-0000.params}). It is the committed file's name, not
     * the served model's (that is the card's): renaming the model must not orphan the committed weights.
     */
    private static final String FILE_PREFIX = "tiny";
    public static final String RESOURCE_DIR = "/models/tiny/";
    static final String PARAMS_FILE = FILE_PREFIX + "-0000.params";
    static final String CONFIG_FILE = "config.properties";

    /** The schedule the tiny model was trained on: cosine over 1000 steps, v-prediction. */
    public static final NoiseSchedule SCHEDULE = NoiseSchedule.cosine(1000, 1e-4, NoiseSchedule.Prediction.V);

    private TinyWeights() {
    }

    /** Writes the block's current weights and its config into {@code dir}. */
    public static void save(TinyUNet unet, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (Model model = Model.newInstance(FILE_PREFIX, ai.djl.Device.cpu(), DjlRuntime.ENGINE)) {
            model.setBlock(unet);
            // Always tiny-0000.params: without an epoch DJL numbers each save anew (tiny-0001, …) and
            // loading picks the highest, so a copied tiny-0000 would be the oldest export, not the latest.
            model.setProperty("Epoch", "0");
            model.save(dir, FILE_PREFIX);
        }
        try (OutputStream os = Files.newOutputStream(dir.resolve(CONFIG_FILE))) {
            unet.config().toProperties().store(os, "tiny model shape");
        }
    }

    /** Opens the weights in {@code dir} on {@code device}. The caller closes the model. */
    public static Model open(Path dir, ai.djl.Device device) {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve(CONFIG_FILE))) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Model model = Model.newInstance(FILE_PREFIX, device, DjlRuntime.ENGINE);
        try {
            model.setBlock(new TinyUNet(TinyConfig.fromProperties(p)));
            model.load(dir, FILE_PREFIX);
            return model;
        } catch (IOException | MalformedModelException | RuntimeException e) {
            model.close();
            throw new IllegalStateException("cannot load the tiny model from " + dir, e);
        }
    }

    /** Copies the committed weights from the classpath into a fresh temporary directory. */
    public static Path extractCommitted() {
        try {
            Path dir = Files.createTempDirectory("diffq-tiny-");
            for (String file : new String[] {PARAMS_FILE, CONFIG_FILE}) {
                try (InputStream in = TinyWeights.class.getResourceAsStream(RESOURCE_DIR + file)) {
                    if (in == null) {
                        throw new IllegalStateException(RESOURCE_DIR + file + " is not on the classpath");
                    }
                    Files.copy(in, dir.resolve(file), StandardCopyOption.REPLACE_EXISTING);
                }
                dir.resolve(file).toFile().deleteOnExit();
            }
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
