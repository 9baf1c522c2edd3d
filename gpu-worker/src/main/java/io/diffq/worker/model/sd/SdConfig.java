package io.diffq.worker.model.sd;

import io.diffq.worker.pipeline.NoiseSchedule;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * How to drive a Stable Diffusion model directory: read from its {@code model.properties} (written by
 * {@code gpu-worker/scripts/sd/export_sd.py}); a key that is absent takes Stable Diffusion 1.x's value, an
 * unknown key is an error (a typo must not silently fall back to a default).
 *
 * @param schedule       the training noise schedule and what the UNet predicts on it: {@code epsilon} (SD 1.x,
 *                       2.x base) or {@code v} (SD 2.x 768)
 * @param scalingFactor  the VAE latent scaling (0.18215 for SD 1.x/2.x); latents are divided by it before decoding
 * @param latentChannels channels of the latent picture (4)
 * @param vaeScaleFactor pixels per latent pixel along each side (8)
 * @param textMaxLength  tokens the text encoder takes (77)
 * @param padToken       the token prompts are padded with ({@code <|endoftext|>} for SD 1.x)
 * @param defaultSize    side of a picture when a job gives no size (512)
 * @param minSize        smallest side
 * @param maxSize        largest side
 * @param sizeMultiple   width and height must be multiples of this (64: the UNet halves the latent three times)
 * @param defaultGuidance guidance scale of a job that gives none (7.5)
 */
public record SdConfig(NoiseSchedule schedule, double scalingFactor,
        int latentChannels, int vaeScaleFactor, int textMaxLength, String padToken, int defaultSize, int minSize,
        int maxSize, int sizeMultiple, double defaultGuidance) {

    public static final String FILE = "model.properties";

    static final Map<String, String> DEFAULTS = defaults();

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("prediction", "epsilon");
        d.put("schedule", "scaled-linear");
        d.put("beta-start", "0.00085");
        d.put("beta-end", "0.012");
        d.put("train-timesteps", "1000");
        d.put("latent-channels", "4");
        d.put("vae-scale-factor", "8");
        d.put("scaling-factor", "0.18215");
        d.put("text-max-length", "77");
        d.put("pad-token", "<|endoftext|>");
        d.put("default-size", "512");
        d.put("min-size", "256");
        d.put("max-size", "1024");
        d.put("size-multiple", "64");
        d.put("default-guidance", "7.5");
        return Map.copyOf(d);
    }

    /** Reads {@code dir/model.properties}, or Stable Diffusion 1.x's settings when there is none. */
    public static SdConfig load(Path dir) {
        Properties p = new Properties();
        Path file = dir.resolve(FILE);
        if (Files.exists(file)) {
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return of(p, file);
    }

    static SdConfig of(Properties p, Object source) {
        for (String key : p.stringPropertyNames()) {
            if (!DEFAULTS.containsKey(key)) {
                throw new IllegalArgumentException(source + ": unknown key '" + key + "', expected one of "
                        + new java.util.TreeSet<>(DEFAULTS.keySet()));
            }
        }
        Values v = new Values(p, source);
        NoiseSchedule.Prediction prediction = switch (v.text("prediction")) {
            case "epsilon" -> NoiseSchedule.Prediction.EPSILON;
            case "v", "v-prediction", "v_prediction" -> NoiseSchedule.Prediction.V;
            default -> throw v.invalid("prediction", "epsilon or v");
        };
        int timesteps = v.integer("train-timesteps", 2);
        double start = v.number("beta-start");
        double end = v.number("beta-end");
        NoiseSchedule schedule = switch (v.text("schedule")) {
            case "scaled-linear", "scaled_linear" -> NoiseSchedule.scaledLinear(timesteps, start, end, prediction);
            case "linear" -> NoiseSchedule.linear(timesteps, start, end, prediction);
            default -> throw v.invalid("schedule", "scaled-linear or linear");
        };
        SdConfig c = new SdConfig(schedule, v.number("scaling-factor"), v.integer("latent-channels", 1),
                v.integer("vae-scale-factor", 1), v.integer("text-max-length", 2), v.raw("pad-token"),
                v.integer("default-size", 1), v.integer("min-size", 1), v.integer("max-size", 1),
                v.integer("size-multiple", 1), v.number("default-guidance"));
        if (c.sizeMultiple % c.vaeScaleFactor != 0) {
            throw new IllegalArgumentException(source + ": size-multiple must be a multiple of vae-scale-factor");
        }
        return c;
    }

    private record Values(Properties p, Object source) {

        String raw(String key) {
            return p.getProperty(key, DEFAULTS.get(key)).strip();
        }

        String text(String key) {
            return raw(key).toLowerCase(Locale.ROOT);
        }

        int integer(String key, int min) {
            try {
                int value = Integer.parseInt(text(key));
                if (value < min) {
                    throw invalid(key, "an integer of at least " + min);
                }
                return value;
            } catch (NumberFormatException e) {
                throw invalid(key, "an integer");
            }
        }

        double number(String key) {
            try {
                double value = Double.parseDouble(text(key));
                if (!(value > 0) || Double.isInfinite(value)) {
                    throw invalid(key, "a positive number");
                }
                return value;
            } catch (NumberFormatException e) {
                throw invalid(key, "a number");
            }
        }

        IllegalArgumentException invalid(String key, String expected) {
            return new IllegalArgumentException(source + ": " + key + " must be " + expected + ", not '"
                    + p.getProperty(key, DEFAULTS.get(key)) + "'");
        }
    }
}
