package io.diffq.worker.model;

import io.diffq.common.job.JobRequest;
import java.util.List;

/**
 * What a model is asked to draw.
 *
 * @param prompt         the text
 * @param negativePrompt text to steer away from, or empty
 * @param width          width in pixels
 * @param height         height in pixels
 * @param steps          denoising steps
 * @param guidanceScale  classifier-free guidance scale
 * @param seed           the noise seed
 * @param scheduler      the scheduler, or {@code null} for the model's default
 */
public record GenerationRequest(String prompt, String negativePrompt, int width, int height, int steps,
        double guidanceScale, long seed, String scheduler) {

    /**
     * What requests drawn in one batch share: everything but the prompts and the seed. (A request naming no
     * scheduler and one naming the model's default are not put together: nothing here knows the default.)
     */
    public record BatchKey(int width, int height, int steps, double guidanceScale, String scheduler) {
    }

    public BatchKey batchKey() {
        return new BatchKey(width, height, steps, guidanceScale, scheduler);
    }

    /**
     * The first request of a batch, after checking that every one shares its key and that there is one
     * listener per request.
     *
     * @throws IllegalArgumentException when they do not: the caller put the batch together wrongly
     */
    public static GenerationRequest firstOfBatch(List<GenerationRequest> batch, List<?> listeners) {
        if (batch.isEmpty() || batch.size() != listeners.size()) {
            throw new IllegalArgumentException("a batch needs one listener per request, and a request");
        }
        BatchKey key = batch.get(0).batchKey();
        for (GenerationRequest r : batch) {
            if (!r.batchKey().equals(key)) {
                throw new IllegalArgumentException("requests of one batch differ: " + key + " and " + r.batchKey());
            }
        }
        return batch.get(0);
    }

    public static GenerationRequest of(JobRequest r) {
        return new GenerationRequest(r.prompt(), r.negativePrompt(), r.width(), r.height(), r.steps(),
                r.guidanceScale(), r.seed(), r.scheduler());
    }
}
