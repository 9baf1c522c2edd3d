package io.diffq.worker.model;

import io.diffq.common.job.JobRequest;

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

    public static GenerationRequest of(JobRequest r) {
        return new GenerationRequest(r.prompt(), r.negativePrompt(), r.width(), r.height(), r.steps(),
                r.guidanceScale(), r.seed(), r.scheduler());
    }
}
