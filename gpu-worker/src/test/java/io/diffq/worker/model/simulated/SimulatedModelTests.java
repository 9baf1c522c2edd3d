package io.diffq.worker.model.simulated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.model.SimulatedJobTime;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.ModelException;
import io.diffq.worker.model.simulated.SimulatedModelProperties.Spread;
import io.diffq.worker.pipeline.Schedulers;
import io.diffq.worker.pipeline.StepListener;
import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class SimulatedModelTests {

    private final SimulatedModel model = new SimulatedModel(Duration.ofMillis(20), Pattern.compile("explode"), null);

    private static GenerationRequest request(String prompt, long seed) {
        return new GenerationRequest(prompt, "", 48, 24, 4, 7.5, seed, null);
    }

    @Test
    void drawsTheRequestedSizeAndReportsEveryStep() {
        List<Integer> steps = new ArrayList<>();

        BufferedImage image = model.generate(request("a red circle", 1), (step, total) -> steps.add(step));

        assertThat(image.getWidth()).isEqualTo(48);
        assertThat(image.getHeight()).isEqualTo(24);
        assertThat(steps).containsExactly(1, 2, 3, 4);
    }

    @Test
    void theSameSeedAndPromptGiveTheSamePixelsAndAnotherSeedDoesNot() {
        assertThat(pixels(model.generate(request("p", 5), (s, t) -> { })))
                .isEqualTo(pixels(model.generate(request("p", 5), (s, t) -> { })))
                .isNotEqualTo(pixels(model.generate(request("p", 6), (s, t) -> { })));
    }

    @Test
    void itsCardOffersAnySizeInMultiplesOf8AndEveryScheduler() {
        assertThat(model.card().name()).isEqualTo("simulated");
        assertThat(model.card().squareOnly()).isFalse();
        assertThat(model.card().defaultSize()).isEqualTo(512);
        assertThat(model.card().checkSize(8, 1024)).isEmpty();
        assertThat(model.card().checkSize(48, 20)).isPresent();
        assertThat(model.card().schedulers()).isEqualTo(Schedulers.NAMES);
    }

    @Test
    void withAStepLatencyAJobTakesItsStepsTimesThatLong() {
        SimulatedModel perStep = new SimulatedModel(Duration.ofMinutes(1), Duration.ofMillis(30), null, null);

        long began = System.nanoTime();
        perStep.generate(request("four steps", 1), (s, t) -> { });
        long tookMs = (System.nanoTime() - began) / 1_000_000;

        assertThat(tookMs).isBetween(120L, 5_000L);
    }

    @Test
    void withAnExponentialSpreadAJobTakesTheTimeDrawnFromItsSeed() {
        Duration mean = Duration.ofMillis(100);
        SimulatedModel spread = new SimulatedModel(mean, Duration.ZERO, Spread.EXPONENTIAL, null, null);
        long shortSeed = seedTaking(0, 10, mean);
        long longSeed = seedTaking(400, 600, mean);

        // Short: below where the long seed begins (the first call also pays for drawing's first use, up to
        // ~170 ms on a busy machine, so no tighter bound holds everywhere).
        assertThat(tookMs(spread, List.of(request("short", shortSeed)))).isLessThan(400L);
        assertThat(tookMs(spread, List.of(request("long", longSeed)))).isBetween(400L, 5_000L);
        // A batch takes its longest job's time.
        assertThat(tookMs(spread, List.of(request("a", shortSeed), request("b", longSeed)))).isBetween(400L, 5_000L);
        // Without the spread the same long seed takes the latency.
        assertThat(tookMs(new SimulatedModel(mean, null, null), List.of(request("long", longSeed))))
                .isBetween(100L, 350L);
    }

    /** The first seed whose drawn time at {@code mean} lies in [fromMs, toMs). */
    private static long seedTaking(long fromMs, long toMs, Duration mean) {
        for (long seed = 1; ; seed++) {
            long ms = SimulatedJobTime.exponentialNanos(seed, mean.toNanos()) / 1_000_000;
            if (ms >= fromMs && ms < toMs) {
                return seed;
            }
        }
    }

    private static long tookMs(SimulatedModel m, List<GenerationRequest> batch) {
        long began = System.nanoTime();
        m.generate(batch, batch.stream().map(r -> StepListener.NONE).toList());
        return (System.nanoTime() - began) / 1_000_000;
    }

    @Test
    void failsOnAMatchingPromptAsAModelError() {
        assertThatThrownBy(() -> model.generate(request("please explode now", 1), (s, t) -> { }))
                .isInstanceOfSatisfying(ModelException.class, e -> {
                    assertThat(e.type()).isEqualTo("model-error");
                    assertThat(e.retryable()).isTrue();
                });
    }

    private static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }
}
