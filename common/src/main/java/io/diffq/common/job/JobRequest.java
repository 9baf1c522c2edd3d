package io.diffq.common.job;

import java.time.Instant;

/**
 * A job as written to {@code diffq.jobs}: a validated, fully defaulted generation request. Its presence
 * on the topic is what makes a job {@link JobState#QUEUED}: the gateway acknowledges a submit only after
 * the broker acknowledged this record, in one write.
 *
 * @param id             the job id, also the record key
 * @param prompt         what to draw
 * @param negativePrompt what to steer away from; empty when none
 * @param width          image width in pixels
 * @param height         image height in pixels
 * @param steps          denoising steps
 * @param guidanceScale  classifier-free guidance scale
 * @param seed           the noise seed; the same seed and parameters give the same image
 * @param model          the model that serves the job
 * @param scheduler      the noise scheduler, or {@code null} for the model's default
 * @param createdAt      when the gateway accepted the job
 * @param deadline       when the job expires if no worker has started it, or {@code null} for never
 * @param fingerprint    a digest of what the client sent, when it sent an {@code Idempotency-Key}: a
 *                       retry with the same key must send the same request
 */
public record JobRequest(
        String id,
        String prompt,
        String negativePrompt,
        int width,
        int height,
        int steps,
        double guidanceScale,
        long seed,
        String model,
        String scheduler,
        Instant createdAt,
        Instant deadline,
        String fingerprint) {
}
