package io.diffq.worker.model.tiny.eval;

import io.diffq.worker.model.Drawing;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.tiny.TinyDiffusionModel;
import io.diffq.worker.model.tiny.data.CaptionGrammar;
import io.diffq.worker.model.tiny.data.ColourPairs;
import io.diffq.worker.model.tiny.data.Scene;
import io.diffq.worker.model.tiny.data.SceneGenerator;
import io.diffq.worker.model.tiny.data.ShapeKind;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.StepListener;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Measures the tiny model: draws prompts in four cells — constructions of the caption grammar seen in
 * training or held out of it, crossed with colour pairs seen in training or held out of it — reads each
 * picture back with {@link ImageMeasure} and reports per cell how often both colours are right, how often
 * the shape is, and how often the two colours come out exchanged (the shape in the background's colour on
 * the shape's: a binding error). Writes JSON to {@code --out}.
 *
 * <pre>
 * java -cp ... io.diffq.worker.model.tiny.eval.EvaluateTinyModel [--weights DIR] [--out FILE]
 *     [--samples N] [--steps 20] [--guidance G (default: the model's)] [--scheduler ddim] [--grid FILE.png]
 * </pre>
 */
public final class EvaluateTinyModel {

    /** One evaluation case. */
    public record Case(String prompt, ColourPairs.Pair pair, ShapeKind shape, long seed, boolean heldOut,
            boolean heldOutConstruction) {
    }

    /** The four cells, in report order. */
    public enum Cell {
        SEEN_CONSTRUCTIONS_SEEN_PAIRS("seenConstructions.seenPairs"),
        SEEN_CONSTRUCTIONS_HELD_OUT_PAIRS("seenConstructions.heldOutPairs"),
        HELD_OUT_CONSTRUCTIONS_SEEN_PAIRS("heldOutConstructions.seenPairs"),
        HELD_OUT_CONSTRUCTIONS_HELD_OUT_PAIRS("heldOutConstructions.heldOutPairs");

        private final String key;

        Cell(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }

        static Cell of(Case c) {
            return values()[(c.heldOutConstruction() ? 2 : 0) + (c.heldOut() ? 1 : 0)];
        }
    }

    /**
     * Rates over a set of cases.
     *
     * @param colours     both colours right
     * @param swapped     both colours present but exchanged
     * @param shape       shape recognition ({@link ImageMeasure}: best-overlapping shape, IoU ≥ 0.8)
     * @param shapeByFill shape recognition by the earlier bounding-box fill rule, for comparison
     */
    public record Rates(int images, double colours, double background, double shapeColour, double swapped,
            double shape, double shapeByFill) {

        String json() {
            return String.format(Locale.ROOT,
                    "{\"images\": %d, \"colourAdherence\": %.4f, \"background\": %.4f, \"shapeColour\": %.4f, "
                            + "\"swapRate\": %.4f, \"shapeRecognition\": %.4f, \"shapeRecognitionByFill\": %.4f}",
                    images, colours, background, shapeColour, swapped, shape, shapeByFill);
        }
    }

    /**
     * Scores of one run: each cell, the held-out constructions over both pair sets, and everything.
     */
    public record Result(Map<Cell, Rates> cells, Rates heldOutConstructions, Rates all) {

        public Rates cell(Cell cell) {
            return cells.get(cell);
        }
    }

    private EvaluateTinyModel() {
    }

    /**
     * The evaluation cases: in each cell, {@code samples} pictures per colour pair and shape, for every
     * held-out pair or every third training pair (16 of the 48); each case a different construction of
     * the cell's set (spread over the list), its words (determiners, synonyms, filler) and seed drawn from
     * the case's index.
     */
    public static List<Case> cases(int samples) {
        List<Case> cases = new ArrayList<>();
        List<ColourPairs.Pair> seen = new ArrayList<>();
        List<ColourPairs.Pair> training = ColourPairs.training();
        for (int i = 0; i < training.size(); i += 3) {
            seen.add(training.get(i));
        }
        for (CaptionGrammar.Split split : CaptionGrammar.Split.values()) {
            add(cases, seen, false, split, samples);
            add(cases, ColourPairs.heldOut(), true, split, samples);
        }
        return cases;
    }

    private static void add(List<Case> cases, List<ColourPairs.Pair> pairs, boolean heldOut,
            CaptionGrammar.Split split, int samples) {
        List<CaptionGrammar.Construction> constructions = CaptionGrammar.constructions(split);
        int k = 0;
        for (ColourPairs.Pair pair : pairs) {
            for (ShapeKind shape : ShapeKind.values()) {
                for (int s = 0; s < samples; s++) {
                    long seed = 9_000L + 7919L * k + s + (heldOut ? 500_000L : 0)
                            + (split == CaptionGrammar.Split.HELD_OUT ? 1_000_000L : 0);
                    Random words = new Random(seed);
                    Scene scene = SceneGenerator.place(words, shape, pair.shape(), pair.background());
                    CaptionGrammar.Construction construction = constructions.get(
                            (int) ((k * 37L + s * 11L + (heldOut ? 5 : 0)) % constructions.size()));
                    String prompt = CaptionGrammar.full(scene, construction, words).text();
                    cases.add(new Case(prompt, pair, shape, seed, heldOut, split == CaptionGrammar.Split.HELD_OUT));
                    k++;
                }
            }
        }
    }

    /** Cases drawn in one batch: the worker's batched path, each picture from its own seed. */
    static final int BATCH = 16;

    /** Draws and reads every case, {@value #BATCH} at a time; optionally collects the pictures. */
    public static Result evaluate(TinyDiffusionModel model, List<Case> cases, int steps, double guidance,
            String scheduler, List<BufferedImage> pictures) {
        int[][] counts = new int[Cell.values().length][7];
        List<BufferedImage> images = new ArrayList<>(cases.size());
        for (int from = 0; from < cases.size(); from += BATCH) {
            List<GenerationRequest> batch = cases.subList(from, Math.min(cases.size(), from + BATCH)).stream()
                    .map(c -> new GenerationRequest(c.prompt(), "", 32, 32, steps, guidance, c.seed(), scheduler))
                    .toList();
            for (Drawing d : model.generate(batch, Collections.nCopies(batch.size(), StepListener.NONE))) {
                images.add(d.image());
            }
        }
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            BufferedImage image = images.get(i);
            if (pictures != null) {
                pictures.add(image);
            }
            ImageMeasure.Reading r = ImageMeasure.read(image);
            int[] n = counts[Cell.of(c).ordinal()];
            boolean bg = r.background() == c.pair().background();
            boolean fg = r.shapeColour() == c.pair().shape();
            n[0]++;
            n[1] += bg && fg ? 1 : 0;
            n[2] += bg ? 1 : 0;
            n[3] += fg ? 1 : 0;
            n[4] += r.background() == c.pair().shape() && r.shapeColour() == c.pair().background() ? 1 : 0;
            n[5] += r.shape() == c.shape() ? 1 : 0;
            n[6] += r.shapeByFill() == c.shape() ? 1 : 0;
        }
        Map<Cell, Rates> cells = new EnumMap<>(Cell.class);
        for (Cell cell : Cell.values()) {
            cells.put(cell, rates(counts[cell.ordinal()]));
        }
        return new Result(cells, rates(sum(counts, 2, 3)), rates(sum(counts, 0, 1, 2, 3)));
    }

    private static int[] sum(int[][] counts, int... rows) {
        int[] total = new int[counts[0].length];
        for (int row : rows) {
            for (int i = 0; i < total.length; i++) {
                total[i] += counts[row][i];
            }
        }
        return total;
    }

    private static Rates rates(int[] n) {
        double d = Math.max(1, n[0]);
        return new Rates(n[0], n[1] / d, n[2] / d, n[3] / d, n[4] / d, n[5] / d, n[6] / d);
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
        StringBuilder cells = new StringBuilder();
        for (Cell cell : Cell.values()) {
            cells.append(String.format(Locale.ROOT, "  \"%s\": %s,%n", cell.key(), result.cell(cell).json()));
        }
        String json = String.format(Locale.ROOT,
                "{%n  \"weights\": \"%s\",%n  \"steps\": %d, \"guidance\": %s, \"scheduler\": \"%s\", "
                        + "\"samplesPerPairAndShape\": %d, \"seconds\": %.1f,%n%s  \"heldOutConstructions\": %s,%n"
                        + "  \"all\": %s%n}%n",
                weights == null ? "classpath:/models/tiny" : weights, steps, guidance, scheduler, samples, seconds,
                cells, result.heldOutConstructions().json(), result.all().json());
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
