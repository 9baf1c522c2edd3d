package io.diffq.worker.model;

import io.diffq.common.model.ModelCard;
import io.diffq.worker.pipeline.GenerationCanceledException;
import io.diffq.worker.pipeline.StepListener;
import java.awt.image.BufferedImage;

/**
 * A text-to-image model opened on one device, used by one consumer thread only. It owns its native
 * resources (predictors, weights) and frees them on {@link #close()}.
 */
public interface DiffusionModel extends AutoCloseable {

    /**
     * What this model draws (sizes, schedulers), without a worker or time, under the name jobs ask for: the
     * card is the one place a model's name lives, and its provider answers to the same name. The worker
     * advertises it on {@code diffq.models}, and the gateway refuses at submit a job the card rules out.
     * Requests the card allows must not fail for their size or scheduler.
     */
    ModelCard card();

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
