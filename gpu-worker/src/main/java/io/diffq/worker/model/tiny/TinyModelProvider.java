package io.diffq.worker.model.tiny;

import io.diffq.worker.model.DiffusionModel;
import io.diffq.worker.model.DiffusionModelProvider;
import io.diffq.worker.pipeline.Device;
import org.springframework.stereotype.Component;

/**
 * Provides the built-in {@code tiny} model: a small text-conditioned UNet trained by
 * {@code TrainTinyModel} on synthetic shapes, run by DJL's PyTorch engine from the weights committed under
 * {@code models/tiny/}. Opening it loads the weights; nothing is loaded until a worker is configured to
 * serve it.
 */
@Component
class TinyModelProvider implements DiffusionModelProvider {

    @Override
    public String name() {
        return TinyDiffusionModel.CARD.name();
    }

    @Override
    public DiffusionModel open(Device device) {
        return TinyDiffusionModel.openCommitted(device);
    }
}
