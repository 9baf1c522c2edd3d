package io.diffq.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Settings of the gateway, under {@code diffq.gateway}.
 *
 * @param retryAfter             what {@code Retry-After} tells a client when Kafka cannot take a job
 * @param submitTimeout          how long a submit waits for the broker's acknowledgement before answering 503
 * @param maxBodySize            the largest request body accepted
 * @param readYourWritesTimeout  how long a lookup of an unknown job waits for the status view to catch up
 * @param imageCacheSize         memory for recently fetched images
 * @param statusRetention        how long a finished job stays in the status view
 * @param models                 the models served and the default one
 * @param limits                 bounds on each job parameter
 */
@ConfigurationProperties("diffq.gateway")
public record GatewayProperties(
        @DefaultValue("5s") Duration retryAfter,
        @DefaultValue("8s") Duration submitTimeout,
        @DefaultValue("16KB") DataSize maxBodySize,
        @DefaultValue("3s") Duration readYourWritesTimeout,
        @DefaultValue("64MB") DataSize imageCacheSize,
        @DefaultValue("24h") Duration statusRetention,
        @DefaultValue Models models,
        @DefaultValue Limits limits) {

    /**
     * The models this deployment serves.
     *
     * @param served         model names a job may ask for
     * @param defaultModel   the model of a job that names none
     * @param squareMultiple models that draw only square images whose side is a multiple of the given
     *                       number of pixels (the tiny model: 32), so a size they cannot serve is a 400 at
     *                       submit instead of a failed job
     */
    public record Models(
            @DefaultValue("simulated") List<String> served,
            @DefaultValue("simulated") String defaultModel,
            @DefaultValue Map<String, Integer> squareMultiple) {
    }

    /**
     * Bounds and defaults of the job parameters.
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
     * @param schedulers        scheduler names a job may ask for
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
            @DefaultValue({"ddim", "euler"}) List<String> schedulers) {
    }
}
