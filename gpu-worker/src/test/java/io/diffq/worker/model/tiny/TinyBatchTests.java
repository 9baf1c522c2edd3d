package io.diffq.worker.model.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.worker.model.Drawing;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.GenerationCanceledException;
import io.diffq.worker.pipeline.Images;
import io.diffq.worker.pipeline.StepListener;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The committed tiny model drawing several jobs as one batch. On libtorch's CPU kernels a job's pixels may
 * differ from drawing it alone by one level in a few places (the kernels' blocking changes with the batch
 * size), so a batch is compared with the jobs drawn alone within one level and a small share of pixels, and
 * with itself exactly.
 */
class TinyBatchTests {

    /** Of the 1,024 pixels of a 32×32 picture, how many may differ (by one level) from drawing it alone. */
    private static final int MAX_DIFFERING_PIXELS = 16;

    private static TinyDiffusionModel model;

    @BeforeAll
    static void open() {
        model = (TinyDiffusionModel) new TinyModelProvider().open(Device.CPU);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static List<GenerationRequest> jobs(String scheduler) {
        String[] prompts = {"a red circle on a blue background", "a green square on a black background",
            "a yellow triangle on a white background", "a magenta circle on a cyan background"};
        List<GenerationRequest> jobs = new ArrayList<>();
        for (int k = 0; k < prompts.length; k++) {
            jobs.add(new GenerationRequest(prompts[k], k == 1 ? "red" : "", 32, 32, 12, 5.0, 30 + k, scheduler));
        }
        return jobs;
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddim", "dpmpp-2m"})
    void eachJobOfABatchIsItsOwnPictureAsIfDrawnAloneAndTheSameBatchTwiceIsIdentical(String scheduler) {
        List<GenerationRequest> jobs = jobs(scheduler);
        List<BufferedImage> alone = jobs.stream().map(r -> model.generate(r, StepListener.NONE)).toList();
        List<BufferedImage> batch = images(model.generate(jobs, Collections.nCopies(jobs.size(), StepListener.NONE)));
        List<BufferedImage> again = images(model.generate(jobs, Collections.nCopies(jobs.size(), StepListener.NONE)));

        for (int k = 0; k < jobs.size(); k++) {
            assertNearlySame(batch.get(k), alone.get(k), "job " + k);
            assertThat(Images.difference(batch.get(k), again.get(k)).pixels()).as("job %d, the same batch twice", k)
                    .isZero();
        }
        assertThat(Images.difference(batch.get(0), batch.get(1)).pixels()).as("jobs keep their own prompt and seed")
                .isGreaterThan(100);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ddim", "dpmpp-2m"})
    void aJobCanceledMidBatchLeavesItAtThatStepAndTheOthersFinishAsIfDrawnAlone(String scheduler) {
        List<GenerationRequest> jobs = jobs(scheduler);
        List<BufferedImage> alone = jobs.stream().map(r -> model.generate(r, StepListener.NONE)).toList();
        List<Integer> stepsOfCanceled = new ArrayList<>();
        List<Integer> stepsOfLast = new ArrayList<>();
        List<StepListener> listeners = List.of(StepListener.NONE, (step, total) -> {
            stepsOfCanceled.add(step);
            if (step == 5) {
                throw new GenerationCanceledException("canceled by the test");
            }
        }, StepListener.NONE, (step, total) -> stepsOfLast.add(step));

        List<Drawing> drawings = model.generate(jobs, listeners);

        assertThat(drawings.get(1).stoppedBy()).isInstanceOf(GenerationCanceledException.class);
        assertThat(drawings.get(1).image()).isNull();
        assertThat(stepsOfCanceled).as("no step after the cancel").containsExactly(1, 2, 3, 4, 5);
        assertThat(stepsOfLast).hasSize(12);
        for (int k : new int[] {0, 2, 3}) {
            assertNearlySame(drawings.get(k).image(), alone.get(k), "job " + k);
        }
    }

    private static List<BufferedImage> images(List<Drawing> drawings) {
        return drawings.stream().map(Drawing::imageOrThrow).toList();
    }

    private static void assertNearlySame(BufferedImage actual, BufferedImage alone, String what) {
        Images.Difference d = Images.difference(actual, alone);
        assertThat(d.largestChannel()).as("%s: largest channel difference from alone", what).isLessThanOrEqualTo(1);
        assertThat(d.pixels()).as("%s: pixels that differ from alone", what).isLessThanOrEqualTo(MAX_DIFFERING_PIXELS);
    }
}
