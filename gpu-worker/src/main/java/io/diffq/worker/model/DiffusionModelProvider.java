package io.diffq.worker.model;

import io.diffq.worker.pipeline.Device;

/**
 * The model SPI: a Spring bean that opens its model on a device. The worker opens every configured
 * model once per device and gives each consumer thread its own instances.
 */
public interface DiffusionModelProvider {

    /**
     * The name on the {@link DiffusionModel#card() card} of the model it opens, by which
     * {@code diffq.worker.models} selects it: taken from that card (or from what the card is built from), never
     * spelled again.
     */
    String name();

    /** Loads the model onto {@code device}. */
    DiffusionModel open(Device device);
}
