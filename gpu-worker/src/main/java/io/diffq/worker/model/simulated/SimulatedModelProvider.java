package io.diffq.worker.model.simulated;

import io.diffq.worker.model.DiffusionModel;
import io.diffq.worker.model.DiffusionModelProvider;
import io.diffq.worker.pipeline.Device;
import java.util.regex.Pattern;
import org.springframework.stereotype.Component;

/** Provides the {@code simulated} model, for load and fault tests of the queue. */
@Component
class SimulatedModelProvider implements DiffusionModelProvider {

    private final SimulatedModelProperties properties;

    SimulatedModelProvider(SimulatedModelProperties properties) {
        this.properties = properties;
    }

    @Override
    public String name() {
        return SimulatedModel.CARD.name();
    }

    @Override
    public DiffusionModel open(Device device) {
        return new SimulatedModel(properties.latency(), properties.stepLatency(), properties.latencySpread(), pattern(properties.failPattern()),
                pattern(properties.crashPattern()));
    }

    private static Pattern pattern(String regex) {
        return regex == null || regex.isEmpty() ? null : Pattern.compile(regex);
    }
}
