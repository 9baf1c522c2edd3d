package io.diffq.common.job;

import java.time.Instant;
import java.util.List;

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
 * @param owner          the name of the API key that submitted the job, or {@code null} when the gateway
 *                       runs without keys; only that key (or an {@code admin} key) sees the job
 * @param webhook        where to announce the job's events, or {@code null} for nowhere
 * @param priority       how urgent it is; {@link Priority#NORMAL} for a record written without one
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
        String fingerprint,
        String owner,
        Webhook webhook,
        Priority priority) {

    public JobRequest {
        if (priority == null) {
            priority = Priority.NORMAL;
        }
    }

    /** A request of normal priority (as written before jobs had priorities). */
    public JobRequest(String id, String prompt, String negativePrompt, int width, int height, int steps,
            double guidanceScale, long seed, String model, String scheduler, Instant createdAt, Instant deadline,
            String fingerprint, String owner, Webhook webhook) {
        this(id, prompt, negativePrompt, width, height, steps, guidanceScale, seed, model, scheduler, createdAt,
                deadline, fingerprint, owner, webhook, Priority.NORMAL);
    }

    /** A request of nobody in particular, without a webhook (as written before jobs had owners). */
    public JobRequest(String id, String prompt, String negativePrompt, int width, int height, int steps,
            double guidanceScale, long seed, String model, String scheduler, Instant createdAt, Instant deadline,
            String fingerprint) {
        this(id, prompt, negativePrompt, width, height, steps, guidanceScale, seed, model, scheduler, createdAt,
                deadline, fingerprint, null, null);
    }

    /**
     * Where and on which events to call back about the job.
     *
     * @param url    an {@code http} or {@code https} URL, checked by the gateway when it accepted the job
     * @param events the events to deliver, each one of {@link #START}, {@link #PROGRESS}, {@link #COMPLETED}
     */
    public record Webhook(String url, List<String> events) {

        /** A worker started the job (each attempt). */
        public static final String START = "start";
        /** A worker reported denoising progress. */
        public static final String PROGRESS = "progress";
        /** The job reached a terminal state: succeeded, failed, canceled or expired. */
        public static final String COMPLETED = "completed";
        /** Every event a webhook may ask for. */
        public static final List<String> EVENTS = List.of(START, PROGRESS, COMPLETED);

        public Webhook {
            events = List.copyOf(events);
        }

        /** Whether this webhook asked for {@code event}. */
        public boolean wants(String event) {
            return events.contains(event);
        }
    }
}
