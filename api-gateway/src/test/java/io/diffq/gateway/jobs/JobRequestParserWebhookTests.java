package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.job.JobRequest;
import io.diffq.common.model.ModelCard;
import io.diffq.gateway.ApiClient;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code webhook} and {@code webhookEvents} fields of a submit. */
class JobRequestParserWebhookTests {

    private static final ModelCard TINY = ModelCard.of("tiny", 256, 32, 1024, 32, true, List.of("ddim"))
            .advertisedBy("worker-1", Instant.parse("2026-03-01T11:00:00Z"));
    private static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private final JobRequestParser parser = JobRequestParserTests.parser(Map.of(
            "diffq.gateway.webhooks.secrets", SECRET,
            "diffq.gateway.webhooks.allowed-hosts", "127.0.0.1:9000"), TINY);

    private JobRequest parse(JobRequestParser p, String json, String key) {
        return p.parse(json.getBytes(StandardCharsets.UTF_8), key, ApiClient.ANONYMOUS);
    }

    private void assertRejected(JobRequestParser p, String json, String field, String message) {
        assertThatThrownBy(() -> parse(p, json, null)).as(json)
                .isInstanceOfSatisfying(InvalidJobException.class, e -> assertThat(e.errors())
                        .anySatisfy(err -> {
                            assertThat(err.field()).isEqualTo(field);
                            assertThat(err.message()).contains(message);
                        }));
    }

    @Test
    void aWebhookDefaultsToTheCompletedEvent() {
        JobRequest r = parse(parser, "{\"prompt\":\"p\",\"webhook\":\"https://8.8.8.8/hook\"}", null);
        assertThat(r.webhook()).isEqualTo(new JobRequest.Webhook("https://8.8.8.8/hook", List.of("completed")));
        assertThat(parse(parser, "{\"prompt\":\"p\"}", null).webhook()).isNull();
    }

    @Test
    void theEventsAskedForAreKeptInOrder() {
        JobRequest r = parse(parser, "{\"prompt\":\"p\",\"webhook\":\"http://127.0.0.1:9000/h\","
                + "\"webhookEvents\":[\"progress\",\"start\",\"completed\"]}", null);
        assertThat(r.webhook().events()).containsExactly("progress", "start", "completed");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            {"prompt":"p","webhook":"http://127.0.0.1:9001/h"}                          | webhook       | loopback
            {"prompt":"p","webhook":"http://10.0.0.1/h"}                                 | webhook       | private
            {"prompt":"p","webhook":"ftp://8.8.8.8/h"}                                   | webhook       | http or https
            {"prompt":"p","webhook":42}                                                  | webhook       | must be a string
            {"prompt":"p","webhookEvents":["completed"]}                                 | webhookEvents | only allowed with a webhook
            {"prompt":"p","webhook":"https://8.8.8.8/h","webhookEvents":[]}              | webhookEvents | non-empty array
            {"prompt":"p","webhook":"https://8.8.8.8/h","webhookEvents":"completed"}     | webhookEvents | non-empty array
            {"prompt":"p","webhook":"https://8.8.8.8/h","webhookEvents":["finished"]}    | webhookEvents | start, progress, completed
            {"prompt":"p","webhook":"https://8.8.8.8/h","webhookEvents":[1]}             | webhookEvents | event names
            {"prompt":"p","webhook":"https://8.8.8.8/h","webhookEvents":["start","start"]} | webhookEvents | twice
            """)
    void badWebhookFieldsAre400sNamingTheField(String json, String field, String message) {
        assertRejected(parser, json, field, message);
    }

    @Test
    void withoutASecretAJobMayNotNameAWebhook() {
        JobRequestParser unsigned = JobRequestParserTests.parser(Map.of(), TINY);
        assertRejected(unsigned, "{\"prompt\":\"p\",\"webhook\":\"https://8.8.8.8/h\"}", "webhook", "not configured");
        JobRequestParser disabled = JobRequestParserTests.parser(Map.of("diffq.gateway.webhooks.secrets", SECRET,
                "diffq.gateway.webhooks.enabled", "false"), TINY);
        assertRejected(disabled, "{\"prompt\":\"p\",\"webhook\":\"https://8.8.8.8/h\"}", "webhook", "not configured");
    }

    @Test
    void theWebhookIsPartOfTheIdempotencyFingerprint() {
        String plain = parse(parser, "{\"prompt\":\"p\",\"seed\":1}", "k").fingerprint();
        String hooked = parse(parser, "{\"prompt\":\"p\",\"seed\":1,\"webhook\":\"https://8.8.8.8/h\"}", "k").fingerprint();
        String other = parse(parser, "{\"prompt\":\"p\",\"seed\":1,\"webhook\":\"https://8.8.4.4/h\"}", "k").fingerprint();
        String events = parse(parser, "{\"prompt\":\"p\",\"seed\":1,\"webhook\":\"https://8.8.8.8/h\","
                + "\"webhookEvents\":[\"start\",\"completed\"]}", "k").fingerprint();
        assertThat(List.of(plain, hooked, other, events)).doesNotHaveDuplicates();
        assertThat(parse(parser, "{\"prompt\":\"p\",\"seed\":1,\"webhook\":\"https://8.8.8.8/h\"}", "k").fingerprint())
                .isEqualTo(hooked);
    }
}
