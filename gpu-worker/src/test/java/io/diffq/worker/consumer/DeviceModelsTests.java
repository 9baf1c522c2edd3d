package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.model.ModelCard;
import io.diffq.worker.model.DiffusionModel;
import io.diffq.worker.model.DiffusionModelProvider;
import io.diffq.worker.model.Drawing;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.pipeline.Device;
import io.diffq.worker.pipeline.StepListener;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A device's models are found by the name on their cards, which must be the name they were selected by. */
class DeviceModelsTests {

    private final List<String> closed = new ArrayList<>();

    @Test
    void eachModelIsFoundByItsCardsName() {
        try (DeviceModels models = DeviceModels.open(Device.CPU, List.of(provider("a", "a"), provider("b", "b")))) {
            assertThat(models.get("a")).isPresent();
            assertThat(models.get("c")).isEmpty();
            assertThat(models.cards()).extracting(ModelCard::name).containsExactly("a", "b");
        }
        assertThat(closed).containsExactly("a", "b");
    }

    @Test
    void aModelWhoseCardNamesAnotherModelIsRefusedAndWhatWasOpenedIsClosed() {
        assertThatThrownBy(() -> DeviceModels.open(Device.CPU, List.of(provider("a", "a"), provider("b", "x"))))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("model b advertises itself as x");
        assertThat(closed).containsExactly("a", "x");
    }

    private DiffusionModelProvider provider(String name, String cardName) {
        return new DiffusionModelProvider() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public DiffusionModel open(Device device) {
                return new DiffusionModel() {
                    @Override
                    public ModelCard card() {
                        return ModelCard.of(cardName, 64, 8, 64, 8, true, List.of("ddim"));
                    }

                    @Override
                    public List<Drawing> generate(List<GenerationRequest> requests, List<StepListener> listeners) {
                        throw new UnsupportedOperationException();
                    }

                    @Override
                    public void close() {
                        closed.add(cardName);
                    }
                };
            }
        };
    }
}
