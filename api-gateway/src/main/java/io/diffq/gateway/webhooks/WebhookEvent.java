package io.diffq.gateway.webhooks;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest.Webhook;
import io.diffq.common.job.JobState;
import java.util.Optional;

/**
 * The events a webhook may ask for, and which job event is which. Decided from the event alone (each job event is
 * a full snapshot of its job), so a trigger that restarts mid-way through a job decides as before.
 */
enum WebhookEvent {

    /** A worker began an attempt: its first {@code RUNNING} event, with no progress or step 0. */
    START(Webhook.START, "job.started"),
    /** A worker finished a denoising step: a {@code RUNNING} event at step 1 or later. */
    PROGRESS(Webhook.PROGRESS, "job.progress"),
    /** The job reached its terminal state (succeeded, failed, canceled or expired). */
    COMPLETED(Webhook.COMPLETED, "job.completed");

    private final String name;
    private final String type;

    WebhookEvent(String name, String type) {
        this.name = name;
        this.type = type;
    }

    /** The name a job asks for it by in {@code webhookEvents}. */
    String eventName() {
        return name;
    }

    /** The {@code type} of its payload, and the {@code event} tag of its metrics. */
    String type() {
        return type;
    }

    /** What {@code event} is to a webhook; empty for an event no webhook hears of (a gateway's QUEUED). */
    static Optional<WebhookEvent> of(JobEvent event) {
        if (event.state().isTerminal()) {
            return Optional.of(COMPLETED);
        }
        if (event.state() != JobState.RUNNING) {
            return Optional.empty();
        }
        return Optional.of(event.progress() == null || event.progress().step() == 0 ? START : PROGRESS);
    }
}
