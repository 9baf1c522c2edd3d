package io.diffq.worker.consumer;

import io.diffq.common.model.ModelCard;
import io.diffq.worker.model.DiffusionModel;
import io.diffq.worker.model.DiffusionModelProvider;
import io.diffq.worker.pipeline.Device;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The models opened on one device, owned by that device's consumer thread. */
final class DeviceModels implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DeviceModels.class);

    private final Device device;
    private final Map<String, DiffusionModel> models = new LinkedHashMap<>();

    private DeviceModels(Device device) {
        this.device = device;
    }

    /** Opens each provider's model on the device; closes what was opened if one fails. */
    static DeviceModels open(Device device, List<DiffusionModelProvider> providers) {
        DeviceModels opened = new DeviceModels(device);
        try {
            for (DiffusionModelProvider p : providers) {
                DiffusionModel model = p.open(device);
                String name = model.card().name();
                opened.models.put(name, model);
                if (!p.name().equals(name)) {
                    // Selected by the provider's name, jobs are routed and checked at the gateway by the card's.
                    throw new IllegalStateException("model " + p.name() + " advertises itself as " + name);
                }
                log.info("model {} ready on {}", name, device.name());
            }
            return opened;
        } catch (RuntimeException e) {
            opened.close();
            throw e;
        }
    }

    Device device() {
        return device;
    }

    Optional<DiffusionModel> get(String name) {
        return Optional.ofNullable(models.get(name));
    }

    /** What each model opened here draws. */
    List<ModelCard> cards() {
        return models.values().stream().map(DiffusionModel::card).toList();
    }

    @Override
    public void close() {
        models.forEach((name, m) -> {
            try {
                m.close();
            } catch (RuntimeException e) {
                log.warn("closing model {} on {}: {}", name, device.name(), e.toString());
            }
        });
        models.clear();
    }
}
