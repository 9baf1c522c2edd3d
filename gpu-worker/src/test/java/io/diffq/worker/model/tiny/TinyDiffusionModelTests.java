package io.diffq.worker.model.tiny;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.ModelException;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.DjlRuntime;
import io.diffq.worker.pipeline.GenerationCanceledException;
import io.diffq.worker.pipeline.Schedulers;
import io.diffq.worker.pipeline.StepListener;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The committed tiny model on the CPU. (What it draws for a prompt is read back in the tooling module,
 * {@code tools/tiny-model}: {@code TinyModelPromptTests}.)
 */
class TinyDiffusionModelTests {

    private static TinyDiffusionModel model;

    @BeforeAll
    static void open() {
        model = (TinyDiffusionModel) new TinyModelProvider().open(Device.CPU);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static GenerationRequest request(String prompt, long seed) {
        return new GenerationRequest(prompt, "", 32, 32, 20, 7.5, seed, null);
    }

    @Test
    void theSameSeedGivesTheSamePngByteForByte() throws IOException {
        byte[] first = png(model.generate(request("a red circle on a blue background", 42), StepListener.NONE));
        byte[] second = png(model.generate(request("a red circle on a blue background", 42), StepListener.NONE));
        byte[] other = png(model.generate(request("a red circle on a blue background", 43), StepListener.NONE));
        assertThat(second).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
    }

    /**
     * A picture must not depend on what freed memory holds: with NaN-filled buffers freed before every step
     * the model once drew flat pictures (a convolution read oneDNN's unzeroed channel padding; see
     * {@code NnTests}), and on a long-running machine it did so by chance.
     */
    @Test
    void drawsTheSamePictureWhateverFreedMemoryHolds() throws IOException {
        byte[] clean = png(model.generate(request("a red circle on a blue background", 42), StepListener.NONE));
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu(), DjlRuntime.ENGINE)) {
            byte[] poisoned = png(model.generate(request("a red circle on a blue background", 42),
                    (step, total) -> FreedNaNs.leaveOnTheHeap(manager)));
            assertThat(poisoned).isEqualTo(clean);
        }
    }

    @Test
    void reportsEveryStepAndStopsWhenTheListenerCancels() {
        List<Integer> steps = new ArrayList<>();
        model.generate(new GenerationRequest("a green square on black", "", 32, 32, 8, 5, 1, "euler"),
                (step, total) -> steps.add(step));
        assertThat(steps).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);

        // Canceled at step 3 of 20: no step runs after it, and the model serves the next job as before.
        List<String> reached = new ArrayList<>();
        assertThatThrownBy(() -> model.generate(request("a green square", 1), (step, total) -> {
            reached.add(step + "/" + total);
            if (step == 3) {
                throw new GenerationCanceledException("stop");
            }
        })).isInstanceOf(GenerationCanceledException.class).hasMessage("stop");
        assertThat(reached).containsExactly("1/20", "2/20", "3/20");
    }

    @Test
    void scalesUpToSquareMultiplesOf32AndRefusesOtherSizes() {
        BufferedImage small = model.generate(request("a white triangle on a magenta background", 5), StepListener.NONE);
        BufferedImage big = model.generate(new GenerationRequest("a white triangle on a magenta background", "", 96,
                96, 20, 7.5, 5, null), StepListener.NONE);
        assertThat(big.getWidth()).isEqualTo(96);
        assertThat(big.getHeight()).isEqualTo(96);
        for (int y = 0; y < 96; y++) {
            for (int x = 0; x < 96; x++) {
                assertThat(big.getRGB(x, y)).as("pixel (%d, %d)", x, y).isEqualTo(small.getRGB(x / 3, y / 3));
            }
        }
        for (int[] size : new int[][] {{512, 256}, {48, 48}, {16, 16}, {1056, 1056}}) {
            assertThat(model.card().checkSize(size[0], size[1])).as("the card refuses %dx%d", size[0], size[1])
                    .isPresent();
            assertThatThrownBy(() -> model.generate(new GenerationRequest("x", "", size[0], size[1], 20, 7.5, 1, null),
                    StepListener.NONE)).isInstanceOfSatisfying(ModelException.class, e -> {
                        assertThat(e.type()).isEqualTo("unsupported-size");
                        assertThat(e.getMessage()).startsWith(model.card().describeSizes());
                    });
        }
        assertThat(model.card().checkSize(96, 96)).isEmpty();
        assertThat(model.card().checkSize(model.card().defaultSize(), model.card().defaultSize())).isEmpty();
    }

    @Test
    void theCardOffersEverySchedulerWithTheDefaultFirst() {
        assertThat(model.card().name()).isEqualTo("tiny");
        assertThat(model.card().defaultScheduler()).isEqualTo(TinyDiffusionModel.DEFAULT_SCHEDULER);
        assertThat(model.card().schedulers()).containsExactlyInAnyOrderElementsOf(Schedulers.NAMES);
        assertThat(model.card().worker()).isNull();
    }

    @Test
    void refusesUnknownSchedulersAndServesEmptyPrompts() throws IOException {
        List<Integer> ran = new ArrayList<>();
        assertThatThrownBy(() -> model.generate(new GenerationRequest("x", "", 32, 32, 20, 7.5, 1, "plms"),
                (step, total) -> ran.add(step))).isInstanceOfSatisfying(ModelException.class, e -> {
                    assertThat(e.type()).isEqualTo("unsupported-parameters");
                    assertThat(e.retryable()).as("the same job fails the same way anywhere").isFalse();
                    assertThat(e.getMessage()).contains("'plms'").contains(Schedulers.NAMES.toString());
                });
        assertThat(ran).as("refused before any step").isEmpty();

        // An empty prompt draws; words the vocabulary lacks are dropped, so they draw what the empty prompt
        // draws, byte for byte, while known words change the picture.
        byte[] empty = png(model.generate(new GenerationRequest("", "", 32, 32, 10, 7.5, 1, null), StepListener.NONE));
        byte[] unknown = png(model.generate(new GenerationRequest("zebra crossing", "", 32, 32, 10, 7.5, 1, null),
                StepListener.NONE));
        byte[] known = png(model.generate(new GenerationRequest("zebra red circle", "", 32, 32, 10, 7.5, 1, null),
                StepListener.NONE));
        assertThat(unknown).isEqualTo(empty);
        assertThat(known).isNotEqualTo(empty);
    }

    @Test
    void theNegativePromptReplacesTheUnconditionalText() throws IOException {
        byte[] plain = png(model.generate(request("a circle", 9), StepListener.NONE));
        byte[] steered = png(model.generate(new GenerationRequest("a circle", "red blue background", 32, 32, 20, 7.5, 9,
                null), StepListener.NONE));
        assertThat(steered).isNotEqualTo(plain);
        // At guidance 0 the picture is the unconditional side alone: the negative prompt, whatever the prompt.
        byte[] circle = png(model.generate(new GenerationRequest("a circle", "red blue background", 32, 32, 20, 0, 9,
                null), StepListener.NONE));
        byte[] square = png(model.generate(new GenerationRequest("a green square", "red blue background", 32, 32, 20,
                0, 9, null), StepListener.NONE));
        byte[] empty = png(model.generate(new GenerationRequest("a circle", "", 32, 32, 20, 0, 9, null),
                StepListener.NONE));
        assertThat(square).isEqualTo(circle);
        assertThat(empty).isNotEqualTo(circle);
    }

    private static byte[] png(BufferedImage image) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }
}
