package io.diffq.worker.model;

import java.awt.image.BufferedImage;

/**
 * A text-to-image model opened on one device, used by one consumer thread only. It owns its native
 * resources (predictors, weights) and frees them on {@link #close()}.
 */
public interface DiffusionModel extends AutoCloseable {

    /** The name jobs ask for. */
    String name();

    /**
     * Draws the request. Same request and seed on the same device give the same pixels.
     *
     * @throws ModelException               when the model cannot serve the request
     * @throws GenerationCanceledException  when the listener stopped it
     */
    BufferedImage generate(GenerationRequest request, StepListener listener);

    @Override
    void close();
}
