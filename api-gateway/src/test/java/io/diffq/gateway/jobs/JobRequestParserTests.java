package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.job.JobRequest;
import io.diffq.common.job.Priority;
import io.diffq.common.model.ModelCard;
import io.diffq.gateway.ApiClient;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.models.KnownModels;
import io.diffq.gateway.models.ModelCatalog;
import io.diffq.gateway.webhooks.WebhookProperties;
import io.diffq.gateway.webhooks.WebhookUrlPolicy;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

class JobRequestParserTests {

    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    private static final String PLAIN_FINGERPRINT =
            "sha256:ad3a99533f96d3e2adee05cdd9860a65757cf4ab94b7fa658624b7a6b3fea887";
    private static final ModelCard TINY = ModelCard.of("tiny", 256, 32, 1024, 32, true, List.of("ddim", "euler"))
            .advertisedBy("worker-1", NOW.minusSeconds(60));
    private static final ModelCard SIMULATED = ModelCard.of("simulated", 512, 8, 1024, 8, false,
            List.of("ddim", "euler")).advertisedBy("worker-1", NOW.minusSeconds(60));

    private final JobRequestParser parser = parser(Map.of(), TINY, SIMULATED);

    /** A parser whose catalog holds {@code cards}, with the gateway properties {@code settings}. */
    static JobRequestParser parser(Map<String, String> settings, ModelCard... cards) {
        GatewayProperties properties = new Binder(new MapConfigurationPropertySource(settings))
                .bindOrCreate("diffq.gateway", GatewayProperties.class);
        WebhookProperties webhooks = new Binder(new MapConfigurationPropertySource(settings))
                .bindOrCreate("diffq.gateway.webhooks", WebhookProperties.class);
        return new JobRequestParser(properties, new KnownModels(ModelCatalog.of(cards), properties),
                Clock.fixed(NOW, ZoneOffset.UTC), new JobIds(properties), webhooks, new WebhookUrlPolicy(webhooks));
    }

    private JobRequest parse(String json) {
        return parse(parser, json);
    }

    private static JobRequest parse(JobRequestParser parser, String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8), null, ApiClient.ANONYMOUS);
    }

    private static void assertRejected(JobRequestParser parser, String json, String field, String message) {
        assertThatThrownBy(() -> parse(parser, json)).as(json)
                .isInstanceOfSatisfying(InvalidJobException.class, e -> {
                    assertThat(e.errors().get(0).field()).isEqualTo(field);
                    assertThat(e.errors().get(0).message()).contains(message);
                });
    }

    @Test
    @Tag("abuse")
    void aBodyThatIsNotStrictUtf8IsRejectedNotDecoded() {
        byte[][] bodies = {
                {'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"', ':', '"', 'a', (byte) 0xC0, (byte) 0xAF, 'b', '"', '}'},
                {'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"', ':', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', '}'},
                {'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"', ':', '"', (byte) 0xE2, (byte) 0x82, '"', '}'}};
        for (byte[] body : bodies) {
            assertThatThrownBy(() -> parser.parse(body, null, ApiClient.ANONYMOUS))
                    .isInstanceOfSatisfying(InvalidJobException.class, e -> {
                        assertThat(e.errors().get(0).field()).isEqualTo("(body)");
                        assertThat(e.getMessage()).contains("not valid UTF-8");
                    });
        }
        // The same text correctly encoded is fine.
        assertThat(parse("{\"prompt\":\"a/b\u20ac\"}").prompt()).isEqualTo("a/b\u20ac");
    }

    @Test
    void theBodyLimitAdmitsEveryValidRequest() {
        assertThatThrownBy(() -> new Binder(new MapConfigurationPropertySource(Map.of(
                "diffq.gateway.max-body-size", "16KB"))).bindOrCreate("diffq.gateway", GatewayProperties.class))
                .hasRootCauseMessage("diffq.gateway.max-body-size 16384 B is below 25024 B, the body of a valid request "
                        + "with both texts at limits.max-prompt-length (1000 characters) written as \\u escapes");
    }

    @Test
    void aPromptAloneGetsEveryDefault() {
        JobRequest r = parse("{\"prompt\":\"  a red circle on a blue background \"}");

        assertThat(r.id()).matches("[0-9a-f-]{36}");
        assertThat(r.prompt()).isEqualTo("a red circle on a blue background");
        assertThat(r.negativePrompt()).isEmpty();
        assertThat(r.model()).isEqualTo("tiny");
        assertThat(r.width()).as("the model's default size").isEqualTo(256);
        assertThat(r.height()).isEqualTo(256);
        assertThat(r.steps()).isEqualTo(20);
        assertThat(r.guidanceScale()).as("the gateway's default: this card names none").isEqualTo(7.5);
        assertThat(r.seed()).isBetween(0L, JobRequestParser.MAX_SEED);
        assertThat(java.util.stream.IntStream.range(0, 8)
                .mapToLong(k -> parse(parser, "{\"prompt\":\"p\"}").seed()).distinct().count())
                .as("an absent seed is drawn at random").isGreaterThan(1);
        assertThat(r.scheduler()).isNull();
        assertThat(r.createdAt()).isEqualTo(NOW);
        assertThat(r.deadline()).isNull();
    }

    @Test
    void aJobWithoutGuidanceGetsTheModelsOwn() {
        JobRequestParser parser = parser(Map.of(), TINY.withDefaultGuidance(4.0), SIMULATED);

        assertThat(parse(parser, "{\"prompt\":\"a red circle\"}").guidanceScale()).isEqualTo(4.0);
        assertThat(parse(parser, "{\"prompt\":\"a red circle\",\"guidanceScale\":null}").guidanceScale())
                .isEqualTo(4.0);
        assertThat(parse(parser, "{\"prompt\":\"a red circle\",\"guidanceScale\":9}").guidanceScale())
                .isEqualTo(9.0);
        assertThat(parse(parser, "{\"prompt\":\"p\",\"model\":\"simulated\"}").guidanceScale()).isEqualTo(7.5);
        assertRejected(parser, "{\"prompt\":\"p\",\"guidanceScale\":-1}", "guidanceScale", "between");
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
    void aSizeTheModelCannotDrawIsRejectedAtSubmitNamingTheSide() {
        assertThat(parse("{\"prompt\":\"p\",\"model\":\"tiny\",\"width\":64,\"height\":64}").width()).isEqualTo(64);
        assertRejected(parser, "{\"prompt\":\"p\",\"model\":\"tiny\",\"width\":64,\"height\":32}", "height",
                "model tiny draws square images whose side is a multiple of 32 pixels, from 32 to 1024");
        assertRejected(parser, "{\"prompt\":\"p\",\"model\":\"tiny\",\"width\":40,\"height\":40}", "width",
                "multiple of 32");
        assertRejected(parser, "{\"prompt\":\"p\",\"model\":\"tiny\",\"width\":64}", "height", "square");
        // Another model's card allows other sizes.
        assertThat(parse("{\"prompt\":\"p\",\"model\":\"simulated\",\"width\":40,\"height\":16}").height())
                .isEqualTo(16);
        assertThat(parse("{\"prompt\":\"p\",\"model\":\"simulated\"}").width()).isEqualTo(512);
        assertRejected(parser, "{\"prompt\":\"p\",\"model\":\"simulated\",\"width\":1032,\"height\":16}",
                "width", "model simulated draws images whose width and height are each a multiple of 8 pixels, "
                        + "from 8 to 1024");
    }

    @Test
    @Tag("abuse")
    void aSchedulerTheModelDoesNotOfferIsRejected() {
        JobRequestParser onlyDdim = parser(Map.of(), ModelCard.of("tiny", 256, 32, 1024, 32, true, List.of("ddim"))
                .advertisedBy("w", NOW));

        assertThat(parse(onlyDdim, "{\"prompt\":\"p\",\"scheduler\":\"DDIM\"}").scheduler()).isEqualTo("ddim");
        assertRejected(onlyDdim, "{\"prompt\":\"p\",\"scheduler\":\"euler\"}", "scheduler",
                "model tiny offers the schedulers [ddim]");
        // A name that passes only a looser comparison than the one the worker makes is refused at submit.
        assertRejected(onlyDdim, "{\"prompt\":\"p\",\"scheduler\":\"dd\\u0130m\"}", "scheduler",
                "model tiny offers the schedulers [ddim]");
    }

    @Test
    void aDeclaredModelNoWorkerHasAdvertisedIsCheckedAgainstTheGeneralLimits() {
        JobRequestParser declared = parser(Map.of("diffq.gateway.models.served", "sd15,tiny",
                "diffq.gateway.models.default-model", "sd15"), TINY);

        JobRequest r = parse(declared, "{\"prompt\":\"p\",\"width\":40,\"height\":16,\"scheduler\":\"euler\"}");
        assertThat(r.model()).isEqualTo("sd15");
        assertThat(r.width()).isEqualTo(40);
        assertThat(parse(declared, "{\"prompt\":\"p\",\"model\":\"SD15\"}").width()).isEqualTo(512);
        assertRejected(declared, "{\"prompt\":\"p\",\"width\":100}", "width", "multiple of 8");
        assertRejected(declared, "{\"prompt\":\"p\",\"height\":2048}", "height", "from 8 to 1024");
        assertRejected(declared, "{\"prompt\":\"p\",\"scheduler\":\"lms\"}", "scheduler", "[ddim, euler, dpmpp-2m]");
        // Declared and advertised: the card decides.
        assertRejected(declared, "{\"prompt\":\"p\",\"model\":\"tiny\",\"width\":40,\"height\":40}", "width",
                "multiple of 32");
    }

    @Test
    void aModelNeitherAdvertisedNorDeclaredIsRejectedListingTheKnownOnes() {
        assertRejected(parser(Map.of("diffq.gateway.models.served", "sd15"), TINY),
                "{\"prompt\":\"p\",\"model\":\"sdxl\",\"width\":64,\"height\":64}", "model",
                "unknown model; must be one of [sd15, tiny]");
        assertRejected(parser(Map.of("diffq.gateway.models.served", "sd15")), "{\"prompt\":\"p\"}", "model",
                "the default model tiny is not available; must be one of [sd15]");
        assertRejected(parser(Map.of()), "{\"prompt\":\"p\",\"model\":\"tiny\"}", "model",
                "no worker has advertised a model yet");
    }

    @Test
    void generalLimitsAModelCouldNotDrawAreRefusedAtStartUp() {
        assertThatThrownBy(() -> parser(Map.of("diffq.gateway.limits.default-size", "100")))
                .hasStackTraceContaining("diffq.gateway.limits: model any: default size 100 is not a size it draws");
    }

    /**
     * A job is {@code normal} unless it asks otherwise; a normal priority, asked or not, leaves the idempotency
     * fingerprint as it was before jobs had priorities (a retry across the upgrade still matches), another one
     * changes it (a retry asking another priority is another request).
     */
    @Test
    void aPriorityIsNormalUnlessAskedAndJoinsTheFingerprintOnlyWhenNotNormal() {
        assertThat(parse("{\"prompt\":\"p\"}").priority()).isEqualTo(Priority.NORMAL);
        assertThat(parse("{\"prompt\":\"p\",\"priority\":null}").priority()).isEqualTo(Priority.NORMAL);
        assertThat(parse("{\"prompt\":\"p\",\"priority\":\"high\"}").priority()).isEqualTo(Priority.HIGH);
        assertThat(parse("{\"prompt\":\"p\",\"priority\":\"low\"}").priority()).isEqualTo(Priority.LOW);

        String plain = fingerprint("{\"prompt\":\"p\",\"seed\":1}");
        assertThat(fingerprint("{\"prompt\":\"p\",\"seed\":1,\"priority\":\"normal\"}")).isEqualTo(plain);
        assertThat(fingerprint("{\"prompt\":\"p\",\"seed\":1,\"priority\":\"high\"}")).isNotEqualTo(plain)
                .isNotEqualTo(fingerprint("{\"prompt\":\"p\",\"seed\":1,\"priority\":\"low\"}"));
        // The digest of a plain request is the one stored before priorities: fixed here so that a change shows.
        assertThat(plain).isEqualTo(PLAIN_FINGERPRINT);
    }

    private String fingerprint(String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8), "k1", "client").fingerprint();
    }

    @Test
    void nullMeansDefault() {
        assertThat(parse("{\"prompt\":\"p\",\"width\":null,\"seed\":null}").width()).isEqualTo(256);
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
            {"prompt":"p","width":0}                        | width           | from 32 to 1024
            {"prompt":"p","width":4096}                     | width           | from 32 to 1024
            {"prompt":"p","width":99999999999999999999999}  | width           | from 32 to 1024
            {"prompt":"p","width":100}                      | width           | a multiple of 32
            {"prompt":"p","height":-8}                      | height          | model tiny draws square images
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
            {"prompt":"p","model":7}                        | model           | must be a string
            {"prompt":"p","scheduler":"lms"}                | scheduler       | model tiny offers the schedulers [ddim, euler]
            {"prompt":"p","scheduler":["ddim"]}             | scheduler       | must be a string
            {"prompt":"p","deadlineSeconds":0}              | deadlineSeconds | must be between 1 and 86400
            {"prompt":"p","promt":"typo"}                   | promt           | unknown field
            {"prompt":"p","priority":"urgent"}              | priority        | must be one of [high, normal, low], not 'urgent'
            {"prompt":"p","priority":"HIGH"}                | priority        | must be one of [high, normal, low], not 'HIGH'
            {"prompt":"p","priority":1}                     | priority        | must be a string
            {"prompt":"a","prompt":"b"}                     | (body)          | a field appears twice
            {"prompt":"p"                                   | (body)          | malformed JSON
            ["prompt"]                                      | (body)          | must be a JSON object
            "prompt"                                        | (body)          | must be a JSON object
            null                                            | (body)          | must be a JSON object
            """)
    void badInputNamesTheField(String json, String field, String message) {
        assertRejected(parser, json, field, message);
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
        assertThatThrownBy(() -> parser.parse(new byte[0], null, ApiClient.ANONYMOUS))
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
