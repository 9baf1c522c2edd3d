package io.diffq.gateway.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobFailure;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** What an answer means for a delivery, when the next try comes, and which job event is which webhook event. */
class WebhookRetryPolicyTests {

    private static final Instant NOW = Instant.parse("2026-12-04T12:00:00Z");

    @ParameterizedTest
    @CsvSource({"200,DELIVERED", "204,DELIVERED", "299,DELIVERED", "410,STOPPED", "429,RETRY", "500,RETRY",
            "502,RETRY", "503,RETRY", "301,FAILED", "302,FAILED", "307,FAILED", "400,FAILED", "401,FAILED",
            "404,FAILED", "413,FAILED", "100,FAILED"})
    void answersMapToOutcomes(int status, WebhookClient.Outcome outcome) {
        assertThat(WebhookClient.outcome(status)).isEqualTo(outcome);
    }

    @Test
    void backoffDoublesWithJitterUpToTheCap() {
        WebhookSender sender = sender(Map.of("diffq.gateway.webhooks.initial-backoff", "1s",
                "diffq.gateway.webhooks.max-backoff", "60s"));
        WebhookClient.Attempt failed = new WebhookClient.Attempt(WebhookClient.Outcome.RETRY, 503, Optional.empty());
        for (int i = 0; i < 200; i++) {
            // Equal jitter: between half and all of initial * 2^(attempt - 1).
            assertThat(wait(sender.nextTry(1, failed))).isBetween(Duration.ofMillis(500), Duration.ofSeconds(1));
            assertThat(wait(sender.nextTry(3, failed))).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(4));
            assertThat(wait(sender.nextTry(7, failed))).isBetween(Duration.ofSeconds(30), Duration.ofSeconds(60));
            assertThat(wait(sender.nextTry(80, failed))).isBetween(Duration.ofSeconds(30), Duration.ofSeconds(60));
        }
    }

    @Test
    void aRetryAfterIsHonouredUpToTheCap() {
        WebhookSender sender = sender(Map.of("diffq.gateway.webhooks.initial-backoff", "1s",
                "diffq.gateway.webhooks.max-backoff", "60s"));
        assertThat(wait(sender.nextTry(1, new WebhookClient.Attempt(WebhookClient.Outcome.RETRY, 429,
                Optional.of(Duration.ofSeconds(20)))))).isEqualTo(Duration.ofSeconds(20));
        assertThat(wait(sender.nextTry(1, new WebhookClient.Attempt(WebhookClient.Outcome.RETRY, 503,
                Optional.of(Duration.ofDays(2)))))).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void jobEventsMapToWebhookEvents() {
        Instant t = NOW;
        assertThat(WebhookEvent.of(JobEvent.running("j", 1, t, "w", "m", new Progress(0, 4), t)))
                .contains(WebhookEvent.START);
        assertThat(WebhookEvent.of(JobEvent.running("j", 2, t, "w", "m", null, t))).contains(WebhookEvent.START);
        assertThat(WebhookEvent.of(JobEvent.running("j", 1, t, "w", "m", new Progress(1, 4), t)))
                .contains(WebhookEvent.PROGRESS);
        assertThat(WebhookEvent.of(JobEvent.succeeded("j", 1, t, "w", "m", new Progress(4, 4), 3,
                new ResultRef(0, 0, "image/png", 1), t))).contains(WebhookEvent.COMPLETED);
        assertThat(WebhookEvent.of(JobEvent.failed("j", 1, t, "w", "m", null, null, JobFailure.fatal("x", "y"), t)))
                .contains(WebhookEvent.COMPLETED);
        assertThat(WebhookEvent.of(JobEvent.expired("j", "w", "m", t))).contains(WebhookEvent.COMPLETED);
        assertThat(WebhookEvent.of(JobEvent.canceled("j", 1, t, "w", "m", t))).contains(WebhookEvent.COMPLETED);
    }

    private static Duration wait(Instant next) {
        return Duration.between(NOW, next);
    }

    private static WebhookSender sender(Map<String, String> settings) {
        WebhookProperties properties = new Binder(new MapConfigurationPropertySource(settings))
                .bindOrCreate("diffq.gateway.webhooks", WebhookProperties.class);
        return new WebhookSender(null, properties, null, null, Clock.fixed(NOW, ZoneOffset.UTC));
    }
}
