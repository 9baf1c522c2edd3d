package io.diffq.worker.model.tiny.bench;

import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.tiny.TinyDiffusionModel;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.StepListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Times the tiny model on the CPU: one 32×32 picture, 20 DDIM steps, its default guidance (conditional and
 * unconditional passes batched), after 3 warm-up runs; prints and writes the median of 10 runs.
 *
 * <pre>
 * java -cp ... io.diffq.worker.model.tiny.bench.BenchmarkTinyModel [--weights DIR] [--out FILE] [--runs 10]
 * </pre>
 */
public final class BenchmarkTinyModel {

    private BenchmarkTinyModel() {
    }

    public static void main(String[] args) throws IOException {
        Path weights = null;
        Path out = Path.of("tiny-bench.json");
        int runs = 10;
        int steps = 20;
        String scheduler = "ddim";
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--weights" -> weights = Path.of(v);
                case "--out" -> out = Path.of(v);
                case "--runs" -> runs = Integer.parseInt(v);
                case "--steps" -> steps = Integer.parseInt(v);
                case "--scheduler" -> scheduler = v;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        double[] ms = new double[runs];
        try (TinyDiffusionModel model = weights == null ? TinyDiffusionModel.openCommitted(Device.CPU)
                : TinyDiffusionModel.open(weights, Device.CPU)) {
            for (int i = 0; i < 3 + runs; i++) {
                GenerationRequest request = new GenerationRequest("a red circle on a blue background", "", 32, 32,
                        steps, TinyDiffusionModel.DEFAULT_GUIDANCE, 42 + i, scheduler);
                long t0 = System.nanoTime();
                model.generate(request, StepListener.NONE);
                if (i >= 3) {
                    ms[i - 3] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = runs % 2 == 1 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2;
        String json = String.format(Locale.ROOT,
                "{\"image\": \"32x32\", \"steps\": %d, \"scheduler\": \"%s\", \"guidance\": %s, \"runs\": %d, "
                        + "\"medianMs\": %.1f, \"minMs\": %.1f, \"maxMs\": %.1f, \"cpus\": %d}%n",
                steps, scheduler, TinyDiffusionModel.DEFAULT_GUIDANCE, runs, median, sorted[0], sorted[runs - 1],
                Runtime.getRuntime().availableProcessors());
        Files.writeString(out, json);
        System.out.print(json);
    }
}
