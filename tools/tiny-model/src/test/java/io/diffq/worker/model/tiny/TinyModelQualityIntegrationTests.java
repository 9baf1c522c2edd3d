package io.diffq.worker.model.tiny;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.worker.model.tiny.eval.EvaluateTinyModel;
import io.diffq.worker.model.tiny.eval.EvaluateTinyModel.Cell;
import io.diffq.worker.pipeline.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A quality floor on the committed weights: the evaluation's own cases ({@code EvaluateTinyModel
 * --samples 2}: in each of the four cells — caption constructions seen in training or held out, colour
 * pairs seen or held out — two pictures per colour pair and shape, 288 in all), with floors 10 points under
 * what it measured.
 */
class TinyModelQualityIntegrationTests {

    @Test
    void keepsToColoursAndShapesForPhrasingsAndColourPairsItWasNeverTrainedOn() {
        List<EvaluateTinyModel.Case> cases = EvaluateTinyModel.cases(2);
        EvaluateTinyModel.Result result;
        try (TinyDiffusionModel model = TinyDiffusionModel.openCommitted(Device.CPU)) {
            result = EvaluateTinyModel.evaluate(model, cases, 20, TinyDiffusionModel.DEFAULT_GUIDANCE, "ddim", null);
        }
        for (Cell cell : Cell.values()) {
            EvaluateTinyModel.Rates r = result.cell(cell);
            System.out.printf("tiny quality: %s colours %.3f shape %.3f swapped %.3f%n", cell.key(), r.colours(),
                    r.shape(), r.swapped());
            assertThat(r.images()).as("%s images", cell.key()).isGreaterThanOrEqualTo(48);
            assertThat(r.colours()).as("%s colour adherence", cell.key())
                    .isGreaterThanOrEqualTo(QualityFloors.COLOURS.get(cell));
            assertThat(r.shape()).as("%s shape recognition", cell.key())
                    .isGreaterThanOrEqualTo(QualityFloors.SHAPES.get(cell));
        }
        assertThat(result.heldOutConstructions().swapped()).as("swap rate on held-out constructions")
                .isLessThanOrEqualTo(QualityFloors.HELD_OUT_CONSTRUCTIONS_SWAP_CEILING);
    }
}
