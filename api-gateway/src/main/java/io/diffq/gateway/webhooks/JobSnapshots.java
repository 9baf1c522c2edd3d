package io.diffq.gateway.webhooks;

import io.diffq.common.job.JobStatus;
import java.time.Instant;

/**
 * A job as {@code GET /v1/jobs/{id}} shows it, in JSON: the {@code data} of a webhook's payload. The jobs feature
 * implements it (it owns the view's shape); webhooks only asks, so the two packages form no cycle.
 */
public interface JobSnapshots {

    /**
     * @param status the job as it was at the event
     * @param at     the event's time: durations still running are measured up to it
     */
    String viewJson(JobStatus status, Instant at);
}
