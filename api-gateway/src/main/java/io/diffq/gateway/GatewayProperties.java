package io.diffq.gateway;

import io.diffq.common.model.ModelCard;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Settings of the gateway, under {@code diffq.gateway}.
 *
 * @param retryAfter             what {@code Retry-After} tells a client when Kafka cannot take a job
 * @param submitTimeout          how long a submit waits for the broker's acknowledgement before answering 503
 * @param maxBodySize            the largest request body accepted; at least what a valid request may need (both
 *                               texts at their longest, every character a {@code \\u} escape)
 * @param readYourWritesTimeout  how long a lookup of an unknown job waits for the status view to catch up
 * @param imageCacheSize         memory for recently fetched images
 * @param statusRetention        how long a finished job stays in the status view
 * @param statusReadInterval     while job records and events keep coming, the status view reads them at most
 *                               this often (one fetch and one store write per interval, not per record or so);
 *                               a change then shows up to about two intervals late, and at once after a quiet
 *                               spell. 0 to 1 s; 0 reads each as it comes
 * @param models                 models accepted without a worker's advertisement, and the default one
 * @param limits                 bounds on each job parameter
 * @param streams                server-sent event streams of job status
 * @param waits                  submits that wait for their job to finish ({@code Prefer: wait=N})
 * @param jobIdSecret            the secret under which an idempotent submit's job id is derived (an HMAC of the
 *                               client and its {@code Idempotency-Key}); every instance must have the same one.
 *                               Required once API keys are configured; give it here, in the environment
 *                               ({@code DIFFQ_GATEWAY_JOB_ID_SECRET}) or as {@code job-id-secret-file}
 * @param jobIdSecretFile        a file holding {@code job-id-secret} (e.g. a mounted Kubernetes secret)
 */
@ConfigurationProperties("diffq.gateway")
public record GatewayProperties(
        @DefaultValue("5s") Duration retryAfter,
        @DefaultValue("8s") Duration submitTimeout,
        @DefaultValue("32KB") DataSize maxBodySize,
        @DefaultValue("3s") Duration readYourWritesTimeout,
        @DefaultValue("64MB") DataSize imageCacheSize,
        @DefaultValue("24h") Duration statusRetention,
        @DefaultValue("5ms") Duration statusReadInterval,
        @DefaultValue Models models,
        @DefaultValue Limits limits,
        @DefaultValue Streams streams,
        @DefaultValue Waits waits,
        String jobIdSecret,
        String jobIdSecretFile) {

    /** Bytes of a valid request's body beyond its two texts: every other field at its longest, and spaces. */
    static final int BODY_BEYOND_TEXTS = 1024;
    /** The most bytes a JSON string spends on one character: a {@code \\uXXXX} escape of each UTF-16 half. */
    static final int MAX_BYTES_PER_CHARACTER = 12;
    /** The longest {@code status-read-interval}: a status a second late under load is as late as it may be. */
    static final Duration MAX_STATUS_READ_INTERVAL = Duration.ofSeconds(1);

    public GatewayProperties {
        // The body limit must admit every valid request: both texts at their longest, written as escapes.
        long needed = 2L * limits.maxPromptLength() * MAX_BYTES_PER_CHARACTER + BODY_BEYOND_TEXTS;
        if (maxBodySize.toBytes() < needed) {
            throw new IllegalArgumentException("diffq.gateway.max-body-size " + maxBodySize.toBytes() + " B is below "
                    + needed + " B, the body of a valid request with both texts at limits.max-prompt-length ("
                    + limits.maxPromptLength() + " characters) written as \\u escapes");
        }
        if (statusReadInterval.isNegative() || statusReadInterval.compareTo(MAX_STATUS_READ_INTERVAL) > 0) {
            throw new IllegalArgumentException("diffq.gateway.status-read-interval " + statusReadInterval
                    + " is outside 0 to " + MAX_STATUS_READ_INTERVAL);
        }
        if (jobIdSecret != null && jobIdSecretFile != null) {
            throw new IllegalArgumentException("diffq.gateway: give job-id-secret or job-id-secret-file, not both");
        }
    }

    /** Whether a job-id secret is configured (inline or as a file). */
    public boolean hasJobIdSecret() {
        return jobIdSecret != null || jobIdSecretFile != null;
    }

    /**
     * Server-sent event streams ({@code GET /v1/jobs/{id}/events}). Each stream is written without blocking:
     * a client that does not read only holds its latest status, never a thread or the status view.
     *
     * @param heartbeat     a comment line is sent after this long without an event, so proxies keep the stream
     *                      and a peer that went away is noticed (at most two heartbeats later)
     * @param stallTimeout  a stream whose client has not taken what was written for this long is closed
     * @param maxDuration   a stream is closed after this long (an {@code EventSource} reconnects on its own)
     * @param maxPerClient  most open streams of one client (API key, or address when the API is open)
     * @param maxTotal      most open streams of this gateway instance
     */
    public record Streams(
            @DefaultValue("15s") Duration heartbeat,
            @DefaultValue("30s") Duration stallTimeout,
            @DefaultValue("30m") Duration maxDuration,
            @DefaultValue("32") int maxPerClient,
            @DefaultValue("4096") int maxTotal) {

        public Streams {
            if (heartbeat.isNegative() || heartbeat.isZero() || stallTimeout.isNegative() || stallTimeout.isZero()
                    || maxDuration.isNegative() || maxDuration.isZero()) {
                throw new IllegalArgumentException("diffq.gateway.streams: durations must be positive");
            }
            if (maxPerClient < 1 || maxTotal < 1) {
                throw new IllegalArgumentException("diffq.gateway.streams: max-per-client and max-total must be >= 1");
            }
        }
    }

    /**
     * Submits that ask, with {@code Prefer: wait=N} (RFC 7240), to be answered with the finished job. A waiting
     * submit holds a connection and a few hundred bytes, never a thread; the caps bound how many one client and
     * the instance hold. Past a cap the submit answers {@code 202} at once, without {@code Preference-Applied}.
     *
     * @param max          the longest wait granted; a longer {@code wait} is cut to it
     * @param maxPerClient waiting submits one client may hold at once
     * @param maxTotal     waiting submits the instance holds at once
     */
    public record Waits(
            @DefaultValue("60s") Duration max,
            @DefaultValue("32") int maxPerClient,
            @DefaultValue("4096") int maxTotal) {

        public Waits {
            if (max.isNegative() || maxPerClient < 0 || maxTotal < 0) {
                throw new IllegalArgumentException("diffq.gateway.waits: max, max-per-client and max-total must be >= 0");
            }
        }
    }

    /**
     * Which models a job may name. Workers advertise the models they serve, and what each draws, on
     * {@code diffq.models}; these settings add to that.
     *
     * @param served       models accepted even before any worker has advertised them (e.g. a fleet scaled to
     *                     zero); a job for one is checked against {@code limits} until a worker advertises it
     * @param defaultModel the model of a job that names none
     */
    public record Models(
            @DefaultValue List<String> served,
            @DefaultValue("tiny") String defaultModel) {

        public Models {
            if (defaultModel == null || defaultModel.isBlank()) {
                throw new IllegalArgumentException("diffq.gateway.models.default-model must name a model");
            }
            if (served.stream().anyMatch(name -> name == null || name.isBlank())) {
                throw new IllegalArgumentException("diffq.gateway.models.served lists a blank model name");
            }
            served = List.copyOf(served);
        }
    }

    /**
     * Bounds and defaults of the job parameters; the size and scheduler bounds apply to a model no worker
     * has advertised yet (an advertised model's card gives its own).
     *
     * @param maxPromptLength   most characters in a prompt or negative prompt
     * @param minSize           smallest width or height
     * @param maxSize           largest width or height
     * @param sizeMultiple      width and height must be multiples of this
     * @param defaultSize       width and height when not given
     * @param minSteps          fewest denoising steps
     * @param maxSteps          most denoising steps
     * @param defaultSteps      steps when not given
     * @param maxGuidanceScale  largest guidance scale (the smallest is 0)
     * @param defaultGuidance   guidance scale when not given
     * @param maxDeadline       the longest deadline a job may ask for
     * @param schedulers        scheduler names a job may ask for; the first is the default
     */
    public record Limits(
            @DefaultValue("1000") int maxPromptLength,
            @DefaultValue("8") int minSize,
            @DefaultValue("1024") int maxSize,
            @DefaultValue("8") int sizeMultiple,
            @DefaultValue("512") int defaultSize,
            @DefaultValue("1") int minSteps,
            @DefaultValue("150") int maxSteps,
            @DefaultValue("20") int defaultSteps,
            @DefaultValue("30") double maxGuidanceScale,
            @DefaultValue("7.5") double defaultGuidance,
            @DefaultValue("24h") Duration maxDeadline,
            @DefaultValue({"ddim", "euler", "dpmpp-2m"}) List<String> schedulers) {

        public Limits {
            try {
                // The parameters, not the fields: those are not assigned yet in a compact constructor.
                ModelCard.of("any", defaultSize, minSize, maxSize, sizeMultiple, false, schedulers);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("diffq.gateway.limits: " + e.getMessage(), e);
            }
        }

        /** What a model no worker has advertised is taken to draw: these bounds. */
        public ModelCard cardFor(String model) {
            return ModelCard.of(model, defaultSize, minSize, maxSize, sizeMultiple, false, schedulers);
        }
    }
}
