package io.diffq.worker.model.sd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.worker.model.Drawing;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.ModelException;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.GenerationCanceledException;
import io.diffq.worker.pipeline.StepListener;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Stable Diffusion pipeline on DJL against the TorchScript fixture of {@code scripts/sd/make_fixtures.py}:
 * modules with Stable Diffusion's signatures whose exact answer is known (the prompt's colours on the
 * left half, grey on the right; see {@link SdFixture}), so each test checks what the pipeline drew.
 */
class StableDiffusionModelTests {

    private static StableDiffusionModel model;

    @BeforeAll
    static void open() {
        model = StableDiffusionModel.open("sd", SdFixture.directory(), Device.CPU);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static GenerationRequest request(String prompt, String negative, int width, int height, double guidance,
            String scheduler) {
        return new GenerationRequest(prompt, negative, width, height, 10, guidance, 7, scheduler);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddim", "euler", "dpmpp-2m"})
    void drawsThePromptsColourOnTheLeftHalfAtTheRequestedSize(String scheduler) {
        BufferedImage image = model.generate(request("a red picture", "", 128, 64, 1.0, scheduler), StepListener.NONE);

        assertThat(image.getWidth()).isEqualTo(128);
        assertThat(image.getHeight()).isEqualTo(64);
        // Latent (0.5, -0.5, -0.5) through the scaling factor and the decoder: (191, 64, 64); the right half 0.
        SdFixture.assertRegion(image, 0, 64, 191, 64, 64);
        SdFixture.assertRegion(image, 64, 128, 128, 128, 128);
    }

    @Test
    void guidanceExtrapolatesFromTheNegativePromptTowardsThePrompt() {
        // x0 = x0(negative) + g·(x0(prompt) − x0(negative)): blue + 3·(red − blue) = (2.5, −0.5, −2.5).
        BufferedImage image = model.generate(request("red", "blue", 64, 64, 3.0, null), StepListener.NONE);
        SdFixture.assertRegion(image, 0, 32, 255, 64, 0);

        // Without a negative prompt the unconditional side is the empty prompt (grey): 7.5·red saturates.
        BufferedImage plain = model.generate(request("red", "", 64, 64, 7.5, null), StepListener.NONE);
        SdFixture.assertRegion(plain, 0, 32, 255, 0, 0);
    }

    @Test
    void unknownWordsAreIgnoredAndAnEmptyPromptStillDraws() {
        SdFixture.assertRegion(model.generate(request("a crimson picture", "", 64, 64, 1.0, null), StepListener.NONE),
                0, 32, 128, 128, 128);
        SdFixture.assertRegion(model.generate(request("", "", 64, 64, 7.5, null), StepListener.NONE),
                0, 32, 128, 128, 128);
    }

    @Test
    void aPromptLongerThanTheTextEncoderIsTruncatedToItsLength() {
        // 77 tokens: <start>, "blue", 74 × "a", then "red" would be the 77th — it is cut for the end token.
        String prompt = "blue " + "a ".repeat(74) + "red";
        SdFixture.assertRegion(model.generate(request(prompt, "", 64, 64, 1.0, null), StepListener.NONE),
                0, 32, 64, 64, 191);
        String fits = "blue " + "a ".repeat(73) + "red";
        SdFixture.assertRegion(model.generate(request(fits, "", 64, 64, 1.0, null), StepListener.NONE),
                0, 32, 128, 0, 128);
    }

    @Test
    void sizesTheModelDirectoryDoesNotAllowAreRefused() {
        for (int[] size : new int[][] {{100, 64}, {64, 56}, {512, 64}}) {
            assertThatThrownBy(() -> model.generate(request("red", "", size[0], size[1], 1.0, null), StepListener.NONE))
                    .isInstanceOfSatisfying(ModelException.class, e -> {
                        assertThat(e.type()).isEqualTo("unsupported-size");
                        assertThat(e.getMessage()).contains("multiple of 8 pixels, from 64 to 256");
                    });
        }
        assertThatThrownBy(() -> model.generate(request("red", "", 64, 64, 1.0, "pndm"), StepListener.NONE))
                .isInstanceOfSatisfying(ModelException.class, e -> {
                    assertThat(e.type()).isEqualTo("unsupported-parameters");
                    assertThat(e.getMessage()).contains("'pndm'").contains("ddim");
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddim", "dpmpp-2m"})
    void aBatchDrawsEachJobsOwnPromptAndOneCanceledMidBatchLeavesTheOthersDrawing(String scheduler) {
        int before = model.managedArrays();
        List<GenerationRequest> jobs = List.of(request("a red picture", "", 64, 64, 1.0, scheduler),
                request("blue", "", 64, 64, 1.0, scheduler), request("a crimson picture", "", 64, 64, 1.0, scheduler),
                request("red", "", 64, 64, 1.0, scheduler));
        List<Integer> reached = new ArrayList<>();
        List<StepListener> listeners = List.of(StepListener.NONE, StepListener.NONE, (step, total) -> {
            reached.add(step);
            if (step == 3) {
                throw new GenerationCanceledException("canceled by the test");
            }
        }, StepListener.NONE);

        List<Drawing> drawings = model.generate(jobs, listeners);

        SdFixture.assertRegion(drawings.get(0).imageOrThrow(), 0, 32, 191, 64, 64);
        SdFixture.assertRegion(drawings.get(1).imageOrThrow(), 0, 32, 64, 64, 191);
        assertThat(drawings.get(2).stoppedBy()).isInstanceOf(GenerationCanceledException.class);
        assertThat(reached).containsExactly(1, 2, 3);
        SdFixture.assertRegion(drawings.get(3).imageOrThrow(), 0, 32, 191, 64, 64);
        assertThat(model.managedArrays()).as("nothing of the batch is left").isEqualTo(before);
    }

    @Test
    void reportsEveryStepAndStopsWhenTheListenerCancels() {
        List<Integer> steps = new ArrayList<>();
        model.generate(request("red", "", 64, 64, 1.0, null), (step, total) -> steps.add(step * 100 + total));
        assertThat(steps).containsExactly(110, 210, 310, 410, 510, 610, 710, 810, 910, 1010);

        // Canceled at step 3: no step runs after it (the VAE never decodes), and the model serves the next job.
        List<Integer> reached = new ArrayList<>();
        assertThatThrownBy(() -> model.generate(request("red", "", 64, 64, 1.0, null), (step, total) -> {
            reached.add(step);
            if (step == 3) {
                throw new GenerationCanceledException("canceled by the test");
            }
        })).isInstanceOf(GenerationCanceledException.class).hasMessage("canceled by the test");
        assertThat(reached).containsExactly(1, 2, 3);
        SdFixture.assertRegion(model.generate(request("red", "", 64, 64, 1.0, null), StepListener.NONE),
                0, 32, 191, 64, 64);
    }

    @Test
    void aJobLeavesNoArraysBehindInTheModelsManagers() {
        model.generate(request("red", "", 64, 64, 7.5, null), StepListener.NONE);
        int before = model.managedArrays();
        for (int i = 0; i < 20; i++) {
            model.generate(request("green on black", "white", 128, 128, 7.5, "euler"), StepListener.NONE);
        }
        assertThatThrownBy(() -> model.generate(request("red", "", 64, 64, 1.0, null), (step, total) -> {
            throw new GenerationCanceledException("canceled by the test");
        })).isInstanceOf(GenerationCanceledException.class);
        assertThat(model.managedArrays()).isEqualTo(before);
    }
}
