package io.diffq.worker.model.simulated;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Settings of the simulated model, under {@code diffq.worker.simulated}. It exists for load and fault
 * tests of the queue only: it runs no neural network.
 *
 * @param latency     time one job takes, spread evenly over its steps
 * @param stepLatency  when above zero, the time each step takes instead, so a job's time follows its steps (a fault
 *                     campaign draws each job's time by drawing its steps); zero means {@code latency} per job
 * @param latencySpread {@code none}: every job takes {@code latency}; {@code exponential}: each job's time is drawn
 *                     from its seed, exponentially with mean {@code latency} (coefficient of variation 1; the same
 *                     seed, the same time), for benchmarks of the queue's head-of-line waiting
 * @param failPattern  a regular expression; a prompt that contains a match fails with a retryable model
 *                     error every time (for testing failure paths; empty means never)
 * @param crashPattern a regular expression; a prompt that contains a match kills the worker process
 *                     half-way through the job, every time (for testing poison jobs; empty means never)
 */
@ConfigurationProperties("diffq.worker.simulated")
public record SimulatedModelProperties(
        @DefaultValue("200ms") Duration latency,
        @DefaultValue("0ms") Duration stepLatency,
        @DefaultValue("") String failPattern,
        @DefaultValue("") String crashPattern,
        @DefaultValue("none") Spread latencySpread) {

    /** How job times vary: {@code NONE}, every job takes the latency; {@code EXPONENTIAL}, drawn per job. */
    public enum Spread { NONE, EXPONENTIAL }
}
