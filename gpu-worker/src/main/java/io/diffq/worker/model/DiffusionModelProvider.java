package io.diffq.worker.model;

import io.diffq.worker.pipeline.Device;

/**
 * The model SPI: a Spring bean that opens its model on a device. The worker opens every configured
 * model once per device and gives each consumer thread its own instances.
 */
public interface DiffusionModelProvider {

    /** The model name, as configured in {@code diffq.worker.models} and asked for by jobs. */
    String name();

    /** Loads the model onto {@code device}. */
    DiffusionModel open(Device device);
}
