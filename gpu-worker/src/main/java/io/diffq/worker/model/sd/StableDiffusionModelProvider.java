package io.diffq.worker.model.sd;

import io.diffq.worker.model.DiffusionModel;
import io.diffq.worker.model.DiffusionModelProvider;
import io.diffq.worker.pipeline.Device;
import org.springframework.stereotype.Component;

/** Provides Stable Diffusion from the model directory in {@link StableDiffusionProperties}. */
@Component
class StableDiffusionModelProvider implements DiffusionModelProvider {

    private final StableDiffusionProperties properties;

    StableDiffusionModelProvider(StableDiffusionProperties properties) {
        this.properties = properties;
    }

    @Override
    public String name() {
        return properties.name();
    }

    @Override
    public DiffusionModel open(Device device) {
        if (properties.modelDir() == null) {
            throw new IllegalStateException("model " + properties.name()
                    + " needs diffq.worker.stable-diffusion.model-dir (a directory made by scripts/sd/export_sd.py)");
        }
        return StableDiffusionModel.open(properties.name(), properties.modelDir(), device);
    }
}
