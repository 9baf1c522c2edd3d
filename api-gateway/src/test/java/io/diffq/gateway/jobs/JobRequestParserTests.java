package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.job.JobRequest;
import io.diffq.gateway.GatewayProperties;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

class JobRequestParserTests {

    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

    private final JobRequestParser parser = new JobRequestParser(properties(), Clock.fixed(NOW, ZoneOffset.UTC));

    static GatewayProperties properties() {
        return new Binder(new MapConfigurationPropertySource(Map.of("diffq.gateway.models.served", "simulated,tiny",
                "diffq.gateway.models.square-multiple.tiny", "32")))
                .bindOrCreate("diffq.gateway", GatewayProperties.class);
    }

    private JobRequest parse(String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aPromptAloneGetsEveryDefault() {
        JobRequest r = parse("{\"prompt\":\"  a red circle on a blue background \"}");

        assertThat(r.id()).matches("[0-9a-f-]{36}");
        assertThat(r.prompt()).isEqualTo("a red circle on a blue background");
        assertThat(r.negativePrompt()).isEmpty();
        assertThat(r.width()).isEqualTo(512);
        assertThat(r.height()).isEqualTo(512);
        assertThat(r.steps()).isEqualTo(20);
        assertThat(r.guidanceScale()).isEqualTo(7.5);
        assertThat(r.seed()).isBetween(0L, JobRequestParser.MAX_SEED);
        assertThat(r.model()).isEqualTo("simulated");
        assertThat(r.scheduler()).isNull();
        assertThat(r.createdAt()).isEqualTo(NOW);
        assertThat(r.deadline()).isNull();
    }

    @Test
    void everyFieldIsTaken() {
        JobRequest r = parse("""
                {"prompt":"p","negativePrompt":"blurry","width":64,"height":96,"steps":5,"guidanceScale":3,
                 "seed":4294967295,"model":"SIMULATED","scheduler":"euler","deadlineSeconds":60}""");

        assertThat(r).extracting(JobRequest::negativePrompt, JobRequest::width, JobRequest::height, JobRequest::steps,
                        JobRequest::guidanceScale, JobRequest::seed, JobRequest::model, JobRequest::scheduler,
                        JobRequest::deadline)
                .containsExactly("blurry", 64, 96, 5, 3.0, 4294967295L, "simulated", "euler", NOW.plusSeconds(60));
    }

    @Test
    void aSizeTheModelCannotDrawIsRejectedAtSubmit() {
        assertThat(parse("{\"prompt\":\"p\",\"model\":\"tiny\",\"width\":64,\"height\":64}").width()).isEqualTo(64);
        assertThat(parse("{\"prompt\":\"p\",\"model\":\"tiny\"}").width()).isEqualTo(512);
        assertThatThrownBy(() -> parse("{\"prompt\":\"p\",\"model\":\"tiny\",\"width\":64,\"height\":32}"))
                .isInstanceOfSatisfying(InvalidJobException.class, e -> {
                    assertThat(e.errors().get(0).field()).isEqualTo("height");
                    assertThat(e.errors().get(0).message()).contains("square").contains("multiple of 32");
                });
        assertThatThrownBy(() -> parse("{\"prompt\":\"p\",\"model\":\"tiny\",\"width\":40,\"height\":40}"))
                .isInstanceOfSatisfying(InvalidJobException.class,
                        e -> assertThat(e.errors().get(0).field()).isEqualTo("width"));
        // Other models keep the general bounds.
        assertThat(parse("{\"prompt\":\"p\",\"width\":40,\"height\":16}").height()).isEqualTo(16);
    }

    @Test
    void nullMeansDefault() {
        assertThat(parse("{\"prompt\":\"p\",\"width\":null,\"seed\":null}").width()).isEqualTo(512);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            {}                                              | prompt          | is required
            {"prompt":""}                                   | prompt          | must not be blank
            {"prompt":"   "}                                | prompt          | must not be blank
            {"prompt":42}                                   | prompt          | must be a string
            {"prompt":["a"]}                                | prompt          | must be a string
            {"prompt":"p","negativePrompt":false}           | negativePrompt  | must be a string
            {"prompt":"p","width":"64"}                     | width           | must be an integer
            {"prompt":"p","width":64.5}                     | width           | must be an integer
            {"prompt":"p","width":0}                        | width           | must be between 8 and 1024
            {"prompt":"p","width":4096}                     | width           | must be between 8 and 1024
            {"prompt":"p","width":100}                      | width           | must be a multiple of 8
            {"prompt":"p","height":-8}                      | height          | must be between 8 and 1024
            {"prompt":"p","steps":0}                        | steps           | must be between 1 and 150
            {"prompt":"p","steps":151}                      | steps           | must be between 1 and 150
            {"prompt":"p","steps":99999999999999999999999}  | steps           | must be between 1 and 150
            {"prompt":"p","guidanceScale":-1}               | guidanceScale   | must be between 0.0 and 30.0
            {"prompt":"p","guidanceScale":"high"}           | guidanceScale   | must be a number
            {"prompt":"p","guidanceScale":1e400}            | guidanceScale   | must be between 0.0 and 30.0
            {"prompt":"p","guidanceScale":-99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999} | guidanceScale | must be between 0.0 and 30.0
            {"prompt":"p","seed":-1}                        | seed            | must be between 0 and 4294967295
            {"prompt":"p","seed":4294967296}                | seed            | must be between 0 and 4294967295
            {"prompt":"p","seed":1.5}                       | seed            | must be an integer
            {"prompt":"p","model":"sdxl"}                   | model           | must be one of [simulated, tiny]
            {"prompt":"p","scheduler":"lms"}                | scheduler       | must be one of [ddim, euler]
            {"prompt":"p","deadlineSeconds":0}              | deadlineSeconds | must be between 1 and 86400
            {"prompt":"p","promt":"typo"}                   | promt           | unknown field
            {"prompt":"a","prompt":"b"}                     | (body)          | a field appears twice
            {"prompt":"p"                                   | (body)          | malformed JSON
            ["prompt"]                                      | (body)          | must be a JSON object
            "prompt"                                        | (body)          | must be a JSON object
            null                                            | (body)          | must be a JSON object
            """)
    void badInputNamesTheField(String json, String field, String message) {
        assertThatThrownBy(() -> parse(json))
                .isInstanceOfSatisfying(InvalidJobException.class, e -> {
                    assertThat(e.errors().get(0).field()).isEqualTo(field);
                    assertThat(e.errors().get(0).message()).contains(message);
                });
    }

    @Test
    void everyBadFieldIsReportedAtOnce() {
        assertThatThrownBy(() -> parse("{\"width\":3,\"steps\":0,\"extra\":1}"))
                .isInstanceOfSatisfying(InvalidJobException.class, e -> assertThat(e.errors())
                        .extracting(InvalidJobException.FieldError::field)
                        .containsExactlyInAnyOrder("extra", "prompt", "width", "steps"));
    }

    @Test
    void anEmptyBodyIsRejected() {
        assertThatThrownBy(() -> parser.parse(new byte[0]))
                .isInstanceOfSatisfying(InvalidJobException.class,
                        e -> assertThat(e.errors().get(0).field()).isEqualTo("(body)"));
    }

    @Test
    void promptsAreBoundedInCharactersNotBytes() {
        String ok = "é".repeat(1000);
        assertThat(parse("{\"prompt\":\"" + ok + "\"}").prompt()).hasSize(1000);
        assertThatThrownBy(() -> parse("{\"prompt\":\"" + ok + "x\"}"))
                .hasMessageContaining("at most 1000 characters");
    }

    @Test
    void controlCharactersAreRejected() {
        assertThatThrownBy(() -> parse("{\"prompt\":\"a\\u0000b\"}"))
                .hasMessageContaining("control characters");
    }
}
