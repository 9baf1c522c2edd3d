package io.diffq.worker.model.tiny.eval;

import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.tiny.TinyDiffusionModel;
import io.diffq.worker.model.tiny.data.Captions;
import io.diffq.worker.model.tiny.data.ColourPairs;
import io.diffq.worker.model.tiny.data.ShapeKind;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.StepListener;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Measures the tiny model: draws prompts for held-out colour pairs (never trained on) and for training
 * pairs, in every phrasing and several seeds, reads each picture back with {@link ImageMeasure} and
 * reports how often both colours are right and how often the shape is. Writes JSON to {@code --out}.
 *
 * <pre>
 * java -cp ... io.diffq.worker.model.tiny.eval.EvaluateTinyModel [--weights DIR] [--out FILE]
 *     [--samples N] [--steps 20] [--guidance G (default: the model's)] [--scheduler ddim] [--grid FILE.png]
 * </pre>
 */
public final class EvaluateTinyModel {

    /** One evaluation case. */
    public record Case(String prompt, ColourPairs.Pair pair, ShapeKind shape, long seed, boolean heldOut) {
    }

    /**
     * Rates over a set of cases.
     *
     * @param shape       shape recognition ({@link ImageMeasure}: best-overlapping shape, IoU ≥ 0.8)
     * @param shapeByFill shape recognition by the earlier bounding-box fill rule, for comparison
     */
    public record Rates(int images, double colours, double background, double shapeColour, double shape,
            double shapeByFill) {

        String json() {
            return String.format(Locale.ROOT,
                    "{\"images\": %d, \"colourAdherence\": %.4f, \"background\": %.4f, \"shapeColour\": %.4f, "
                            + "\"shapeRecognition\": %.4f, \"shapeRecognitionByFill\": %.4f}",
                    images, colours, background, shapeColour, shape, shapeByFill);
        }
    }

    /** Scores of one run. */
    public record Result(Rates seen, Rates heldOut, Rates all) {
    }

    private EvaluateTinyModel() {
    }

    /**
     * The evaluation cases: for each held-out pair and each shape {@code samples} images, and the same for
     * every third training pair (16 of the 48), phrasings and seeds cycling.
     */
    public static List<Case> cases(int samples) {
        List<Case> cases = new ArrayList<>();
        List<ColourPairs.Pair> seen = new ArrayList<>();
        List<ColourPairs.Pair> training = ColourPairs.training();
        for (int i = 0; i < training.size(); i += 3) {
            seen.add(training.get(i));
        }
        add(cases, ColourPairs.heldOut(), true, samples);
        add(cases, seen, false, samples);
        return cases;
    }

    private static void add(List<Case> cases, List<ColourPairs.Pair> pairs, boolean heldOut, int samples) {
        int k = 0;
        for (ColourPairs.Pair pair : pairs) {
            for (ShapeKind shape : ShapeKind.values()) {
                for (int s = 0; s < samples; s++) {
                    int template = (k + s * 3) % Captions.TEMPLATES.size();
                    String prompt = Captions.caption(shape, pair.shape(), pair.background(), template);
                    cases.add(new Case(prompt, pair, shape, 9_000L + 7919L * k + s, heldOut));
                    k++;
                }
            }
        }
    }

    /** Draws and reads every case; optionally collects the pictures. */
    public static Result evaluate(TinyDiffusionModel model, List<Case> cases, int steps, double guidance,
            String scheduler, List<BufferedImage> pictures) {
        int[][] counts = new int[2][6];
        for (Case c : cases) {
            BufferedImage image = model.generate(new GenerationRequest(c.prompt(), "", 32, 32, steps, guidance,
                    c.seed(), scheduler), StepListener.NONE);
            if (pictures != null) {
                pictures.add(image);
            }
            ImageMeasure.Reading r = ImageMeasure.read(image);
            int[] n = counts[c.heldOut() ? 1 : 0];
            boolean bg = r.background() == c.pair().background();
            boolean fg = r.shapeColour() == c.pair().shape();
            n[0]++;
            n[1] += bg && fg ? 1 : 0;
            n[2] += bg ? 1 : 0;
            n[3] += fg ? 1 : 0;
            n[4] += r.shape() == c.shape() ? 1 : 0;
            n[5] += r.shapeByFill() == c.shape() ? 1 : 0;
        }
        int[] all = new int[6];
        for (int i = 0; i < 6; i++) {
            all[i] = counts[0][i] + counts[1][i];
        }
        return new Result(rates(counts[0]), rates(counts[1]), rates(all));
    }

    private static Rates rates(int[] n) {
        double d = Math.max(1, n[0]);
        return new Rates(n[0], n[1] / d, n[2] / d, n[3] / d, n[4] / d, n[5] / d);
    }

    public static void main(String[] args) throws IOException {
        Path weights = null;
        Path out = Path.of("tiny-eval.json");
        Path grid = null;
        int samples = 2;
        int steps = 20;
        double guidance = TinyDiffusionModel.DEFAULT_GUIDANCE;
        String scheduler = "ddim";
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--weights" -> weights = Path.of(v);
                case "--out" -> out = Path.of(v);
                case "--grid" -> grid = Path.of(v);
                case "--samples" -> samples = Integer.parseInt(v);
                case "--steps" -> steps = Integer.parseInt(v);
                case "--guidance" -> guidance = Double.parseDouble(v);
                case "--scheduler" -> scheduler = v;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<Case> cases = cases(samples);
        List<BufferedImage> pictures = grid == null ? null : new ArrayList<>();
        long started = System.nanoTime();
        Result result;
        try (TinyDiffusionModel model = weights == null ? TinyDiffusionModel.openCommitted(Device.CPU)
                : TinyDiffusionModel.open(weights, Device.CPU)) {
            result = evaluate(model, cases, steps, guidance, scheduler, pictures);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        String json = String.format(Locale.ROOT,
                "{%n  \"weights\": \"%s\",%n  \"steps\": %d, \"guidance\": %s, \"scheduler\": \"%s\", "
                        + "\"samplesPerPairAndShape\": %d, \"seconds\": %.1f,%n  \"seen\": %s,%n  \"heldOut\": %s,%n"
                        + "  \"all\": %s%n}%n",
                weights == null ? "classpath:/models/tiny" : weights, steps, guidance, scheduler, samples, seconds,
                result.seen().json(), result.heldOut().json(), result.all().json());
        Files.writeString(out, json);
        System.out.print(json);
        if (grid != null) {
            writeGrid(pictures, grid, samples * ShapeKind.values().length);
        }
    }

    private static void writeGrid(List<BufferedImage> pictures, Path file, int columns) throws IOException {
        int scale = 4;
        int cell = 32 * scale + 4;
        int rows = (pictures.size() + columns - 1) / columns;
        BufferedImage sheet = new BufferedImage(columns * cell, rows * cell, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        g.setColor(java.awt.Color.GRAY);
        g.fillRect(0, 0, sheet.getWidth(), sheet.getHeight());
        for (int i = 0; i < pictures.size(); i++) {
            g.drawImage(io.diffq.worker.pipeline.Images.upscale(pictures.get(i), scale), (i % columns) * cell + 2,
                    (i / columns) * cell + 2, null);
        }
        g.dispose();
        ImageIO.write(sheet, "png", file.toFile());
    }
}
