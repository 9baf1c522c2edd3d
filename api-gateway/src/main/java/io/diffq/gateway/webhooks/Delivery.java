package io.diffq.gateway.webhooks;

import java.time.Instant;

/**
 * One webhook delivery due, as written to the outbox ({@code diffq.webhooks}, keyed by job id): by the trigger for
 * a job event a webhook asked for, and again by the sender for each retry, with {@code attempt} one higher.
 *
 * @param id             the {@code webhook-id}: the same on every try, so a receiver can drop a repeat
 * @param jobId          the job
 * @param url            where to POST
 * @param type           the event type: {@code job.started}, {@code job.progress} or {@code job.completed}
 * @param payload        the body, exactly as sent and signed
 * @param attempt        which try this is, from 1
 * @param firstAttemptAt when the delivery was first due: retries stop at this plus the horizon
 * @param notBefore      not to be tried before this
 */
public record Delivery(String id, String jobId, String url, String type, String payload, int attempt,
        Instant firstAttemptAt, Instant notBefore) {

    /** The next try, due at {@code notBefore}. */
    Delivery retry(Instant next) {
        return new Delivery(id, jobId, url, type, payload, attempt + 1, firstAttemptAt, next);
    }
}
