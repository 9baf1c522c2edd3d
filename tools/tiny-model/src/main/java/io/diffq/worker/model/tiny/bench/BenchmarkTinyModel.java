package io.diffq.worker.model.tiny.bench;

import io.diffq.worker.model.Drawing;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.tiny.TinyDiffusionModel;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.Images;
import io.diffq.worker.pipeline.StepListener;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Times the tiny model on the CPU: 32×32 pictures, 20 DDIM steps, its default guidance (conditional and
 * unconditional passes batched), after 3 warm-up runs, at each batch size asked for (jobs drawn together, each
 * with its own prompt and seed); prints and writes, per batch size, the median of the runs, images per second,
 * and how far each job's pixels are from drawing it alone (the largest channel difference and how many pixels
 * differ).
 *
 * <pre>
 * java -cp ... io.diffq.worker.model.tiny.bench.BenchmarkTinyModel [--weights DIR] [--out FILE] [--runs 10]
 *     [--batches 1,4,8] [--steps 20] [--scheduler ddim]
 * </pre>
 */
public final class BenchmarkTinyModel {

    private static final String[] PROMPTS = {"a red circle on a blue background",
        "a green square on a black background",
        "a yellow triangle on a white background", "a magenta circle on a cyan background",
        "a blue square on a red background", "a white triangle on a green background",
        "a cyan circle on a yellow background", "a black square on a magenta background"};

    private BenchmarkTinyModel() {
    }

    public static void main(String[] args) throws IOException {
        Path weights = null;
        Path out = Path.of("tiny-bench.json");
        int runs = 10;
        int steps = 20;
        String scheduler = "ddim";
        int[] batches = {1};
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--weights" -> weights = Path.of(v);
                case "--out" -> out = Path.of(v);
                case "--runs" -> runs = Integer.parseInt(v);
                case "--steps" -> steps = Integer.parseInt(v);
                case "--scheduler" -> scheduler = v;
                case "--batches" -> batches = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<String> rows = new ArrayList<>();
        double singleRate = 0;
        try (TinyDiffusionModel model = weights == null ? TinyDiffusionModel.openCommitted(Device.CPU)
                : TinyDiffusionModel.open(weights, Device.CPU)) {
            for (int batch : batches) {
                double[] ms = new double[runs];
                int largest = 0;
                int differing = 0;
                for (int i = 0; i < 3 + runs; i++) {
                    List<GenerationRequest> jobs = new ArrayList<>();
                    for (int k = 0; k < batch; k++) {
                        jobs.add(new GenerationRequest(PROMPTS[k % PROMPTS.length], "", 32, 32, steps,
                                TinyDiffusionModel.DEFAULT_GUIDANCE, 42 + i * 64L + k, scheduler));
                    }
                    long t0 = System.nanoTime();
                    List<Drawing> drawn = model.generate(jobs, Collections.nCopies(batch, StepListener.NONE));
                    long t1 = System.nanoTime();
                    if (i < 3) {
                        continue;
                    }
                    ms[i - 3] = (t1 - t0) / 1e6;
                    if (batch > 1 && i == 3) {
                        // Outside the timing: each job of the first measured batch, drawn alone.
                        for (int k = 0; k < batch; k++) {
                            BufferedImage alone = model.generate(jobs.get(k), StepListener.NONE);
                            Images.Difference d = Images.difference(alone, drawn.get(k).imageOrThrow());
                            largest = Math.max(largest, d.largestChannel());
                            differing += d.pixels();
                        }
                    }
                }
                double[] sorted = ms.clone();
                Arrays.sort(sorted);
                double median = runs % 2 == 1 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2;
                double rate = batch * 1000 / median;
                if (batch == 1) {
                    singleRate = rate;
                }
                rows.add(String.format(Locale.ROOT, "{\"batch\": %d, \"medianMs\": %.1f, \"minMs\": %.1f, "
                        + "\"maxMs\": %.1f, \"imagesPerSecond\": %.2f, \"speedUpOverBatch1\": %s, "
                        + "\"largestChannelDifferenceFromAlone\": %d, \"pixelsDifferingFromAlone\": %d, "
                        + "\"pixelsCompared\": %d}", batch, median, sorted[0], sorted[runs - 1], rate,
                        singleRate > 0 ? String.format(Locale.ROOT, "%.2f", rate / singleRate) : "null",
                        largest, differing, batch > 1 ? batch * 32 * 32 : 0));
            }
        }
        String json = String.format(Locale.ROOT,
                "{\"image\": \"32x32\", \"steps\": %d, \"scheduler\": \"%s\", \"guidance\": %s, \"runs\": %d, "
                        + "\"cpus\": %d, \"threads\": \"%s\", \"batches\": [%n  %s%n]}%n",
                steps, scheduler, TinyDiffusionModel.DEFAULT_GUIDANCE, runs, Runtime.getRuntime().availableProcessors(),
                System.getProperty("ai.djl.pytorch.num_threads", "default"), String.join(",\n  ", rows));
        Files.writeString(out, json);
        System.out.print(json);
    }
}
