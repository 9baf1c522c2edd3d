package io.diffq.gateway.webhooks;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Makes one delivery attempt: checks the URL against the {@link WebhookUrlPolicy} again (what the host resolves
 * to may have changed since the job was accepted), POSTs the signed payload with redirects never followed, within
 * the connect and request timeouts, reads at most {@code max-response-bytes} of the answer and drops it, and says
 * what the answer means for the delivery.
 */
final class WebhookClient {

    /** What one attempt came to. */
    enum Outcome {
        /** A 2xx: done. */
        DELIVERED,
        /** A 5xx, a 429, a timeout or a connection failure: to be tried again. */
        RETRY,
        /** Another 4xx, or a 3xx (redirects are not followed): trying again would not help. */
        FAILED,
        /** A 410 Gone: the receiver asks for no more. */
        STOPPED,
        /** The URL is not (or no longer) one a webhook may call. */
        REFUSED
    }

    /**
     * @param outcome    what it means
     * @param status     the HTTP status, or 0 when none came back
     * @param retryAfter how long the receiver asked to wait ({@code Retry-After} on a 429 or 503), if it did
     */
    record Attempt(Outcome outcome, int status, Optional<Duration> retryAfter) {
    }

    private final HttpClient http;
    private final WebhookUrlPolicy policy;
    private final WebhookSigner signer;
    private final WebhookProperties properties;
    private final ScheduledExecutorService timer;
    private final Clock clock;

    WebhookClient(WebhookUrlPolicy policy, WebhookSigner signer, WebhookProperties properties,
            ScheduledExecutorService timer, Clock clock) {
        this.policy = policy;
        this.signer = signer;
        this.properties = properties;
        this.timer = timer;
        this.clock = clock;
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(properties.connectTimeout())
                .build();
    }

    Attempt deliver(Delivery d) {
        URI uri;
        try {
            uri = policy.check(d.url());
        } catch (WebhookUrlPolicy.RefusedUrlException e) {
            return new Attempt(e.retryable() ? Outcome.RETRY : Outcome.REFUSED, 0, Optional.empty());
        }
        byte[] body = d.payload().getBytes(StandardCharsets.UTF_8);
        long timestamp = clock.instant().getEpochSecond();
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(properties.requestTimeout())
                .header("Content-Type", "application/json")
                .header("User-Agent", "diffq-webhooks/1")
                .header("webhook-id", d.id())
                .header("webhook-timestamp", String.valueOf(timestamp))
                .header("webhook-signature", signer.sign(d.id(), timestamp, body))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        HttpResponse<InputStream> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            return new Attempt(Outcome.RETRY, 0, Optional.empty()); // timeouts, refused or reset connections
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Attempt(Outcome.RETRY, 0, Optional.empty());
        }
        drain(response.body());
        int status = response.statusCode();
        Optional<Duration> retryAfter = status == 429 || status == 503
                ? response.headers().firstValue("Retry-After").flatMap(this::retryAfter) : Optional.empty();
        return new Attempt(outcome(status), status, retryAfter);
    }

    static Outcome outcome(int status) {
        if (status >= 200 && status < 300) {
            return Outcome.DELIVERED;
        }
        if (status == 410) {
            return Outcome.STOPPED;
        }
        if (status == 429 || status >= 500) {
            return Outcome.RETRY;
        }
        return Outcome.FAILED;
    }

    /**
     * Reads at most {@code max-response-bytes} of the body, within the request timeout, and closes it: a receiver
     * that sends without end holds a delivery thread no longer than that.
     */
    private void drain(InputStream in) {
        ScheduledFuture<?> cutOff = timer.schedule(() -> closeQuietly(in), properties.requestTimeout().toMillis(),
                TimeUnit.MILLISECONDS);
        try (in) {
            long left = properties.maxResponseBytes().toBytes();
            byte[] buffer = new byte[8192];
            int n;
            while (left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) >= 0) {
                left -= n;
            }
        } catch (IOException e) {
            // the answer's status is what counts; a body cut short or broken changes nothing
        } finally {
            cutOff.cancel(false);
        }
    }

    /** {@code Retry-After} as seconds or an HTTP date; nothing when unreadable or in the past. */
    private Optional<Duration> retryAfter(String value) {
        try {
            long seconds = Long.parseLong(value.strip());
            return seconds > 0 ? Optional.of(Duration.ofSeconds(seconds)) : Optional.empty();
        } catch (NumberFormatException e) {
            try {
                Instant at = ZonedDateTime.parse(value.strip(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                Duration d = Duration.between(clock.instant(), at);
                return d.isNegative() || d.isZero() ? Optional.empty() : Optional.of(d);
            } catch (DateTimeParseException e2) {
                return Optional.empty();
            }
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // closing is all that is wanted
        }
    }
}
