package io.diffq.worker.model.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.diffq.worker.model.tiny.net.TinyConfig;
import io.diffq.worker.model.tiny.net.TinyUNet;
import io.diffq.worker.pipeline.DjlRuntime;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyWeightsTests {

    @Test
    void savedWeightsLoadBackExactly(@TempDir Path dir) throws Exception {
        DjlRuntime.engine().setRandomSeed(5);
        try (NDManager manager = NDManager.newBaseManager(DjlRuntime.ENGINE)) {
            TinyUNet unet = new TinyUNet(new TinyConfig(16, 16, 16, 16, 1, 32, Vocabulary.load().size(), 0,
                    Vocabulary.MAX_TOKENS, 0));
            unet.initialize(manager, 2);
            TinyWeights.save(unet, dir);
            NDList input = input(manager);
            float[] before = unet.forward(new ParameterStore(manager, false), input, false).get(0).toFloatArray();

            try (Model loaded = TinyWeights.open(dir, ai.djl.Device.cpu())) {
                float[] after = loaded.getBlock().forward(new ParameterStore(manager, false), input, false)
                        .get(0).toFloatArray();
                assertThat(after).containsExactly(before);
            }
        }
    }

    /**
     * Saving again into the same directory (the training's export, every checkpoint) replaces the weights:
     * one file, holding the latest ones, with the refinement stage and the role-pooled text encoder.
     */
    @Test
    void aSecondSaveReplacesTheFirst(@TempDir Path dir) throws Exception {
        DjlRuntime.engine().setRandomSeed(6);
        try (NDManager manager = NDManager.newBaseManager(DjlRuntime.ENGINE)) {
            TinyUNet unet = new TinyUNet(new TinyConfig(16, 16, 16, 16, 1, 32, Vocabulary.load().size(), 8,
                    Vocabulary.MAX_TOKENS, 3));
            unet.initialize(manager, 2);
            TinyWeights.save(unet, dir);
            unet.getParameters().values().forEach(p -> p.getArray().addi(0.01f));
            TinyWeights.save(unet, dir);
            NDList input = input(manager);
            float[] latest = unet.forward(new ParameterStore(manager, false), input, false).get(0).toFloatArray();

            try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir)) {
                assertThat(files.map(f -> f.getFileName().toString()))
                        .containsExactlyInAnyOrder("tiny-0000.params", "config.properties");
            }
            try (Model loaded = TinyWeights.open(dir, ai.djl.Device.cpu())) {
                assertThat(loaded.getBlock().forward(new ParameterStore(manager, false), input, false).get(0)
                        .toFloatArray()).containsExactly(latest);
            }
        }
    }

    @Test
    void theTextVectorTellsWhichColourIsTheShapeAndWhichTheBackground() {
        DjlRuntime.engine();
        Vocabulary vocabulary = Vocabulary.load();
        try (Model model = TinyWeights.open(CommittedWeights.directory(), ai.djl.Device.cpu());
                NDManager manager = NDManager.newBaseManager(DjlRuntime.ENGINE)) {
            String[] prompts = {"a red circle on a blue background", "a blue circle on a red background",
                "blue background, red circle", "the background is blue and the circle is red"};
            int[] tokens = new int[4 * Vocabulary.MAX_TOKENS];
            for (int i = 0; i < 4; i++) {
                System.arraycopy(vocabulary.encode(prompts[i]), 0, tokens, i * Vocabulary.MAX_TOKENS,
                        Vocabulary.MAX_TOKENS);
            }
            NDList input = new NDList(manager.zeros(new Shape(4, 3, 32, 32)), manager.full(new Shape(4), 500f),
                    manager.create(tokens, new Shape(4, Vocabulary.MAX_TOKENS)));
            NDArray text = model.getBlock().forward(new ParameterStore(manager, false), input, false).get(1);
            NDArray redOnBlue = text.get(0);
            float swapped = redOnBlue.sub(text.get(1)).norm().getFloat();
            float paraphrase = redOnBlue.sub(text.get(2)).norm().getFloat();
            float clauses = redOnBlue.sub(text.get(3)).norm().getFloat();
            // The same words in another order mean another picture; other words for the same picture do not.
            assertThat(swapped).isGreaterThan(0.2f * redOnBlue.norm().getFloat());
            assertThat(paraphrase).isLessThan(swapped / 2);
            assertThat(clauses).as("the colour said after its noun").isLessThan(swapped / 2);
        }
    }

    private static NDList input(NDManager manager) {
        return new NDList(manager.randomNormal(new Shape(2, 3, 32, 32)), manager.create(new float[] {10, 900}),
                manager.create(new int[2 * Vocabulary.MAX_TOKENS], new Shape(2, Vocabulary.MAX_TOKENS))
                        .toType(DataType.INT32, false).add(1));
    }
}
