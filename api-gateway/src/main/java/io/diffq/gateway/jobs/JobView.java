package io.diffq.gateway.jobs;

import io.diffq.common.job.JobFailure;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.common.job.Progress;
import io.diffq.gateway.status.QueuePosition;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A job as the API shows it.
 *
 * @param id        the job id
 * @param state     its state
 * @param attempt   the delivery attempt (0 while queued)
 * @param model     the model serving it
 * @param progress  denoising progress, once running
 * @param createdAt when it was accepted (absent when the request record is gone)
 * @param startedAt when the current attempt started
 * @param finishedAt when it reached its terminal state
 * @param timings   queue wait, inference and total time in milliseconds, as far as known
 * @param error     why it failed, when it did
 * @param cancelRequestedAt when a client asked to cancel it, if one did
 * @param request   the parameters it runs with
 * @param links     {@code self}, and {@code image} once it succeeded
 * @param queue     while queued: how many jobs are ahead of it and when it should start and finish
 */
public record JobView(
        String id,
        JobState state,
        int attempt,
        String model,
        Progress progress,
        Instant createdAt,
        Instant startedAt,
        Instant finishedAt,
        Timings timings,
        JobFailure error,
        Instant cancelRequestedAt,
        Parameters request,
        Map<String, String> links,
        QueuePosition queue) {

    /**
     * Durations in milliseconds; {@code null} where not known yet.
     *
     * @param queuedMs    acceptance until a worker started it (or until now, while queued)
     * @param inferenceMs time in the model
     * @param totalMs     acceptance until the terminal state (or until now)
     */
    public record Timings(Long queuedMs, Long inferenceMs, Long totalMs) {
    }

    /** The generation parameters, defaults filled in; {@code priority} as the API writes it ({@code normal}). */
    public record Parameters(String prompt, String negativePrompt, int width, int height, int steps,
            double guidanceScale, long seed, String scheduler, Instant deadline, String webhook,
            List<String> webhookEvents, String priority) {

        static Parameters of(JobRequest r) {
            JobRequest.Webhook hook = r.webhook();
            return new Parameters(r.prompt(), r.negativePrompt(), r.width(), r.height(), r.steps(), r.guidanceScale(),
                    r.seed(), r.scheduler(), r.deadline(), hook == null ? null : hook.url(),
                    hook == null ? null : hook.events(), r.priority().apiName());
        }
    }

    static JobView of(JobStatus s, Instant cancelRequestedAt, Instant now) {
        return of(s, cancelRequestedAt, now, null);
    }

    /** The view of {@code s}, with its place in the queue while it waits. */
    static JobView of(JobStatus s, Instant cancelRequestedAt, Instant now, QueuePosition queue) {
        JobRequest r = s.request();
        Map<String, String> links = new LinkedHashMap<>();
        links.put("self", "/v1/jobs/" + s.id());
        if (s.state() == JobState.SUCCEEDED) {
            links.put("image", "/v1/jobs/" + s.id() + "/image");
        }
        return new JobView(s.id(), s.state(), s.attempt(), s.model(), s.progress(),
                r == null ? null : r.createdAt(), s.startedAt(), s.finishedAt(),
                new Timings(millis(s.queueWait(now)), s.inferenceMillis(), millis(s.total(now))),
                s.failure(), cancelRequestedAt, r == null ? null : Parameters.of(r), links, queue);
    }

    private static Long millis(Duration d) {
        return d == null ? null : d.toMillis();
    }
}
