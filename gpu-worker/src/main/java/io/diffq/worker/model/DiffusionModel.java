package io.diffq.worker.model;

import io.diffq.common.model.ModelCard;
import io.diffq.worker.pipeline.GenerationCanceledException;
import io.diffq.worker.pipeline.StepListener;
import java.awt.image.BufferedImage;
import java.util.List;

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
    default BufferedImage generate(GenerationRequest request, StepListener listener) {
        return generate(List.of(request), List.of(listener)).get(0).imageOrThrow();
    }

    /**
     * Draws several requests as one batch. They share what {@link GenerationRequest#batchKey()} names (size,
     * steps, scheduler, guidance); each has its own prompts, seed and listener. A listener that throws stops
     * only its own request, at that step, and the others go on. A job's pixels must not depend on which
     * other jobs share its batch, or the model documents by how much they can (docs/models.md, "Batching").
     *
     * @return one drawing per request, in the same order
     * @throws ModelException when the model cannot serve the requests, or fails while drawing them (all of them)
     */
    List<Drawing> generate(List<GenerationRequest> requests, List<StepListener> listeners);

    @Override
    void close();
}
