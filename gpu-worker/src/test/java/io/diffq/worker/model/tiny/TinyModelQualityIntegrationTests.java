package io.diffq.worker.model.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.worker.model.tiny.eval.EvaluateTinyModel;
import io.diffq.worker.pipeline.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A quality floor on the committed weights: the evaluation's own cases ({@code EvaluateTinyModel
 * --samples 2}: two pictures per colour pair and shape, for every held-out pair and a third of the
 * training pairs, 144 in all), with floors 10 points under what it measured.
 */
class TinyModelQualityIntegrationTests {

    static final double SEEN_COLOUR_FLOOR = QualityFloors.SEEN_COLOURS;
    static final double HELD_OUT_COLOUR_FLOOR = QualityFloors.HELD_OUT_COLOURS;
    static final double SHAPE_FLOOR = QualityFloors.SHAPES;
    static final double HELD_OUT_SHAPE_FLOOR = QualityFloors.HELD_OUT_SHAPES;

    @Test
    void keepsToColoursAndShapesOnSeenAndHeldOutPairs() {
        List<EvaluateTinyModel.Case> cases = EvaluateTinyModel.cases(2);
        EvaluateTinyModel.Result result;
        try (TinyDiffusionModel model = TinyDiffusionModel.openCommitted(Device.CPU)) {
            result = EvaluateTinyModel.evaluate(model, cases, 20, TinyDiffusionModel.DEFAULT_GUIDANCE, "ddim", null);
        }
        assertThat(result.seen().colours()).as("seen colour adherence").isGreaterThanOrEqualTo(SEEN_COLOUR_FLOOR);
        assertThat(result.heldOut().colours()).as("held-out colour adherence")
                .isGreaterThanOrEqualTo(HELD_OUT_COLOUR_FLOOR);
        assertThat(result.all().shape()).as("shape recognition").isGreaterThanOrEqualTo(SHAPE_FLOOR);
        assertThat(result.heldOut().shape()).as("shape recognition on held-out pairs")
                .isGreaterThanOrEqualTo(HELD_OUT_SHAPE_FLOOR);
    }
}
