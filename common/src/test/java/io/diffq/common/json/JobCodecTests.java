package io.diffq.common.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobFailure;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.Priority;
import io.diffq.common.job.JobState;
import io.diffq.common.job.ResultRef;
import io.diffq.common.model.ModelCard;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class JobCodecTests {

    private final JobCodec codec = new JobCodec();

    @Test
    void requestsRoundTripWithIsoTimestamps() {
        JobRequest r = new JobRequest("j1", "a red circle", "blurry", 64, 48, 20, 7.5, 4294967295L, "tiny", "ddim",
                Instant.parse("2026-01-02T03:04:05.678Z"), null, "sha256:abc");

        byte[] json = codec.writeRequest(r);

        assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"createdAt\":\"2026-01-02T03:04:05.678Z\"");
        assertThat(codec.readRequest(json)).isEqualTo(r);
    }

    /** A request written before jobs had priorities reads as normal; one with a priority keeps it. */
    @Test
    void aRequestWithoutAPriorityIsNormalAndAPriorityRoundTrips() {
        JobRequest high = new JobRequest("j1", "p", "", 32, 32, 20, 5, 1, "tiny", null,
                Instant.parse("2026-01-02T03:04:05Z"), null, null, "alice", null, Priority.HIGH);
        assertThat(codec.readRequest(codec.writeRequest(high))).isEqualTo(high);

        String old = "{\"id\":\"j1\",\"prompt\":\"p\",\"negativePrompt\":\"\",\"width\":32,\"height\":32,"
                + "\"steps\":20,\"guidanceScale\":5.0,\"seed\":1,\"model\":\"tiny\",\"createdAt\":\"2026-01-02T03:04:05Z\"}";
        assertThat(codec.readRequest(old.getBytes(StandardCharsets.UTF_8)).priority()).isEqualTo(Priority.NORMAL);
    }

    @Test
    void eventsRoundTrip() {
        JobEvent e = JobEvent.succeeded("j1", 2, Instant.parse("2026-01-02T03:04:01Z"), "w1", "tiny", null, 812,
                new ResultRef(4, 99, "image/png", 1234), Instant.parse("2026-01-02T03:04:05Z"));
        JobEvent f = JobEvent.failed("j2", 1, null, "w1", "tiny", null, null, JobFailure.fatal("model-error", "no"),
                Instant.parse("2026-01-02T03:04:05Z"));

        assertThat(codec.readEvent(codec.writeEvent(e))).isEqualTo(e);
        assertThat(codec.readEvent(codec.writeEvent(f))).isEqualTo(f);
    }

    @Test
    void unknownFieldsFromANewerWriterAreIgnored() {
        String json = "{\"jobId\":\"j1\",\"state\":\"RUNNING\",\"attempt\":1,\"at\":\"2026-01-02T03:04:05Z\","
                + "\"somethingNew\":{\"x\":1}}";

        JobEvent e = codec.readEvent(json.getBytes(StandardCharsets.UTF_8));

        assertThat(e.state()).isEqualTo(JobState.RUNNING);
    }

    @Test
    void modelCardsRoundTrip() {
        ModelCard card = ModelCard.of("tiny", 256, 32, 1024, 32, true, List.of("ddim", "euler"))
                .withDefaultGuidance(4.0).advertisedBy("worker-1", Instant.parse("2026-01-02T03:04:05Z"));

        byte[] json = codec.writeModelCard(card);

        assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"advertisedAt\":\"2026-01-02T03:04:05Z\"")
                .contains("\"schedulers\":[\"ddim\",\"euler\"]").contains("\"defaultGuidance\":4.0");
        assertThat(codec.readModelCard(json)).isEqualTo(card);
        // A card from a worker that names no guidance of its own leaves it to the gateway.
        ModelCard plain = ModelCard.of("simulated", 512, 8, 1024, 8, false, List.of("ddim"));
        assertThat(codec.readModelCard(codec.writeModelCard(plain)).defaultGuidance()).isNull();
    }

    @Test
    void aModelCardThatBreaksACardsRulesIsMalformed() {
        String noSizes = "{\"name\":\"tiny\",\"schedulers\":[\"ddim\"]}";
        String impossibleDefault = "{\"name\":\"tiny\",\"defaultSize\":100,\"minSize\":32,\"maxSize\":1024,"
                + "\"sizeMultiple\":32,\"squareOnly\":true,\"schedulers\":[\"ddim\"]}";
        String negativeGuidance = "{\"name\":\"tiny\",\"defaultSize\":256,\"minSize\":32,\"maxSize\":1024,"
                + "\"sizeMultiple\":32,\"squareOnly\":true,\"schedulers\":[\"ddim\"],\"defaultGuidance\":-1}";

        for (String json : List.of(noSizes, impossibleDefault, negativeGuidance, "[]", "{")) {
            assertThatThrownBy(() -> codec.readModelCard(json.getBytes(StandardCharsets.UTF_8))).as(json)
                    .isInstanceOf(MalformedRecordException.class)
                    .hasMessageContaining("ModelCard");
        }
    }

    @Test
    void garbageIsAMalformedRecord() {
        assertThatThrownBy(() -> codec.readRequest("not json".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("JobRequest");
    }
}
