package io.diffq.gateway.jobs;

import io.diffq.common.job.JobStatus;
import io.diffq.gateway.status.JobStatusView;
import io.diffq.gateway.webhooks.JobSnapshots;
import java.time.Instant;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes a webhook's {@code data} with the same view and the same JSON mapper as the API's answers, so a
 * receiver reads exactly what a poll of the job would have shown at that event.
 */
@Component
class WebhookJobViews implements JobSnapshots {

    private final JsonMapper json;
    private final JobStatusView view;

    WebhookJobViews(JsonMapper json, JobStatusView view) {
        this.json = json;
        this.view = view;
    }

    @Override
    public String viewJson(JobStatus status, Instant at) {
        return json.writeValueAsString(JobView.of(status, view.cancelRequestedAt(status.id()).orElse(null), at));
    }
}
