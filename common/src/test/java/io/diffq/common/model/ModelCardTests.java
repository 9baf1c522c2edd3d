package io.diffq.common.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.model.ModelCard.Problem;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ModelCardTests {

    private static final ModelCard TINY = ModelCard.of("tiny", 256, 32, 1024, 32, true, List.of("ddim", "euler"));
    private static final ModelCard FREE = ModelCard.of("simulated", 512, 8, 1024, 8, false, List.of("ddim", "euler"));

    @ParameterizedTest(name = "{0}x{1} -> {2}")
    @CsvSource(nullValues = "-", textBlock = """
            32,   32,   -
            256,  256,  -
            1024, 1024, -
            64,   32,   height
            40,   40,   width
            0,    0,    width
            1056, 1056, width
            64,   48,   height
            64,   2048, height
            """)
    void aSquareOnlyModelNamesTheFirstSideItCannotDraw(int width, int height, String field) {
        assertThat(TINY.checkSize(width, height).map(Problem::field).orElse(null)).isEqualTo(field);
    }

    @Test
    void theProblemSaysWhatTheModelDraws() {
        assertThat(TINY.checkSize(64, 32)).contains(new Problem("height",
                "model tiny draws square images whose side is a multiple of 32 pixels, from 32 to 1024"));
        assertThat(FREE.checkSize(12, 16)).contains(new Problem("width",
                "model simulated draws images whose width and height are each a multiple of 8 pixels, from 8 to 1024"));
        assertThat(ModelCard.of("any", 64, 1, 100, 1, false, List.of("ddim")).checkSize(64, 101).orElseThrow().message())
                .isEqualTo("model any draws images whose width and height are each from 1 to 100 pixels");
    }

    @Test
    void aModelThatDrawsRectanglesTakesAnySidesInItsRange() {
        assertThat(FREE.checkSize(1024, 8)).isEmpty();
        assertThat(FREE.checkSize(16, 4)).map(Problem::field).contains("height");
    }

    @Test
    void schedulersAreCheckedIgnoringCaseAndNoneMeansTheDefault() {
        assertThat(TINY.checkScheduler(null)).isEmpty();
        assertThat(TINY.checkScheduler("EULER")).isEmpty();
        assertThat(TINY.defaultScheduler()).isEqualTo("ddim");
        assertThat(TINY.checkScheduler("lms")).contains(new Problem("scheduler",
                "model tiny offers the schedulers [ddim, euler] (default ddim)"));
        // Checked in the spelling it is stored in: "İ" (U+0130) equals "i" ignoring case, but lower-cases
        // to "i" + a combining dot, which no worker knows.
        assertThat(TINY.checkScheduler("dd\u0130m")).map(Problem::field).contains("scheduler");
        assertThat(TINY.checkScheduler("DD\u0130M")).map(Problem::field).contains("scheduler");
        assertThat(ModelCard.schedulerName("EuLeR")).isEqualTo("euler");
    }

    @Test
    void aCardIsAdvertisedByAWorkerAtATime() {
        Instant at = Instant.parse("2026-01-02T03:04:05Z");

        ModelCard advertised = TINY.advertisedBy("worker-1", at);

        assertThat(TINY.worker()).isNull();
        assertThat(advertised.worker()).isEqualTo("worker-1");
        assertThat(advertised.advertisedAt()).isEqualTo(at);
        assertThat(advertised.checkSize(64, 64)).isEmpty();
    }

    @Test
    void aCardThatBreaksItsOwnRulesCannotBeMade() {
        assertThatThrownBy(() -> ModelCard.of(" ", 64, 8, 1024, 8, false, List.of("ddim")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ModelCard.of("m", 100, 32, 1024, 32, true, List.of("ddim")))
                .hasMessageContaining("default size 100");
        assertThatThrownBy(() -> ModelCard.of("m", 64, 64, 32, 32, true, List.of("ddim")))
                .hasMessageContaining("not a valid range");
        assertThatThrownBy(() -> ModelCard.of("m", 64, 8, 1020, 8, false, List.of("ddim")))
                .hasMessageContaining("not a valid range");
        assertThatThrownBy(() -> ModelCard.of("m", 64, 8, 1024, 0, false, List.of("ddim")))
                .hasMessageContaining("not a valid range");
        assertThatThrownBy(() -> ModelCard.of("m", 64, 8, 1024, 8, false, List.of()))
                .hasMessageContaining("scheduler");
    }
}
