package io.diffq.gateway.webhooks;

import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Settings of webhook deliveries, under {@code diffq.gateway.webhooks}.
 *
 * @param enabled          whether this gateway runs the trigger and the sender; with {@code false} (or without
 *                         {@code secrets}) a job that names a webhook is refused with a 400
 * @param secrets          signing secrets, {@code whsec_} + base64 key; every one signs each delivery (one
 *                         signature each in {@code webhook-signature}), so receivers can move to a new secret
 *                         while the old one still verifies; list the new one first and drop the old one later
 * @param allowedHosts     hosts ({@code host} or {@code host:port}) a webhook may name although they resolve to a
 *                         loopback, link-local, private or otherwise internal address
 * @param horizon          how long after its first attempt a delivery is retried before it is given up
 * @param connectTimeout   the most a connection to a receiver may take
 * @param requestTimeout   the most a receiver may take to answer (headers and the body read)
 * @param maxResponseBytes the most of a receiver's response body read (and discarded)
 * @param initialBackoff   the wait before the first retry; each further retry doubles it, with jitter
 * @param maxBackoff       the longest wait between two tries, also the cap of a receiver's {@code Retry-After}
 * @param concurrency      deliveries in flight at once on this gateway
 * @param maxPerHost       deliveries in flight at once to one receiver host, so one slow host cannot take all
 * @param maxPending       deliveries read but not finished (waiting for their time or in flight) before the
 *                         sender stops reading more
 * @param holdWindow       how long a delivery not due yet is held in memory; one due later is written back to
 *                         the outbox after that, so the sender's committed offset never lags far behind
 */
@ConfigurationProperties("diffq.gateway.webhooks")
public record WebhookProperties(
        @DefaultValue("true") boolean enabled,
        @DefaultValue List<String> secrets,
        @DefaultValue List<String> allowedHosts,
        @DefaultValue("24h") Duration horizon,
        @DefaultValue("5s") Duration connectTimeout,
        @DefaultValue("10s") Duration requestTimeout,
        @DefaultValue("64KB") DataSize maxResponseBytes,
        @DefaultValue("5s") Duration initialBackoff,
        @DefaultValue("1h") Duration maxBackoff,
        @DefaultValue("32") int concurrency,
        @DefaultValue("4") int maxPerHost,
        @DefaultValue("10000") int maxPending,
        @DefaultValue("30s") Duration holdWindow) {

    public WebhookProperties {
        secrets = List.copyOf(secrets);
        allowedHosts = List.copyOf(allowedHosts);
        for (Duration d : List.of(horizon, connectTimeout, requestTimeout, initialBackoff, maxBackoff, holdWindow)) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("diffq.gateway.webhooks: durations must be positive");
            }
        }
        if (concurrency < 1 || maxPerHost < 1 || maxPending < 1) {
            throw new IllegalArgumentException(
                    "diffq.gateway.webhooks: concurrency, max-per-host and max-pending must be >= 1");
        }
        // Checked here, so a malformed secret stops the start instead of the first delivery.
        secrets.forEach(WebhookSigner::decodeSecret);
    }

    /** Whether jobs may name a webhook here: enabled, with a secret to sign with. */
    public boolean active() {
        return enabled && !secrets.isEmpty();
    }
}
