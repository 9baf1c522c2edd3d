package io.diffq.gateway.docs;

import static io.diffq.gateway.docs.Json.enumOf;
import static io.diffq.gateway.docs.Json.integer;
import static io.diffq.gateway.docs.Json.ref;
import static io.diffq.gateway.docs.Json.string;

import io.diffq.common.job.JobState;
import io.diffq.common.job.Priority;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.jobs.JobRequestParser;
import io.diffq.gateway.models.KnownModels;
import io.diffq.gateway.web.Problems;
import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.Paths;
import io.swagger.v3.oas.models.examples.Example;
import io.swagger.v3.oas.models.headers.Header;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.parameters.Parameter;
import io.swagger.v3.oas.models.parameters.RequestBody;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import java.net.URI;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The API's OpenAPI description, built by hand from the gateway's settings rather than inferred from the
 * controllers: the submit body is read as a stream and checked by {@link JobRequestParser}, so nothing in the
 * controllers' signatures says what it takes. Every operation lists each status it answers with, and each error
 * status the problem types it may carry (as examples, with their fixed titles).
 *
 * <p>An endpoint of the controllers that this description does not cover is kept as springdoc inferred it and
 * marked {@value #UNDESCRIBED}, so it shows, and the description's test fails on it.
 */
final class ApiDescription {

    /** The extension marking an operation found in the controllers but not described here. */
    static final String UNDESCRIBED = "x-diffq-undescribed";
    static final String BEARER = "apiKey";

    private static final String JSON = "application/json";
    private static final String PROBLEM_JSON = "application/problem+json";

    /** A problem type and its fixed title, as the exception handler and the filters write them. */
    record Kind(URI type, String title) {
    }

    static final Kind INVALID = new Kind(Problems.INVALID_REQUEST, "Invalid job request");
    static final Kind TOO_LARGE = new Kind(Problems.PAYLOAD_TOO_LARGE, "Request body too large");
    static final Kind UNSUPPORTED = new Kind(URI.create(Problems.HTTP + 415), "Unsupported Media Type");
    static final Kind NOT_FOUND = new Kind(Problems.JOB_NOT_FOUND, "Job not found");
    static final Kind NOT_READY = new Kind(Problems.IMAGE_NOT_READY, "No image for this job");
    static final Kind EXPIRED = new Kind(Problems.IMAGE_EXPIRED, "Image expired");
    static final Kind UNAVAILABLE = new Kind(Problems.QUEUE_UNAVAILABLE, "Queue unavailable");
    static final Kind FULL = new Kind(Problems.QUEUE_FULL, "Queue full");
    static final Kind QUOTA = new Kind(Problems.QUOTA_EXCEEDED, "Quota exceeded");
    static final Kind PRIORITY = new Kind(Problems.PRIORITY_NOT_ALLOWED, "Priority not allowed");
    static final Kind FINISHED = new Kind(Problems.JOB_FINISHED, "Job already finished");
    static final Kind REUSED = new Kind(Problems.IDEMPOTENCY_KEY_REUSED, "Idempotency-Key reused");
    static final Kind UNAUTHORIZED = new Kind(Problems.UNAUTHORIZED, "Unauthorized");
    static final Kind RATE_LIMITED = new Kind(Problems.RATE_LIMITED, "Too many requests");
    static final Kind TOO_MANY_STREAMS = new Kind(Problems.TOO_MANY_STREAMS, "Too many event streams");

    private final GatewayProperties gateway;
    private final KnownModels models;
    private final boolean keysRequired;

    ApiDescription(GatewayProperties gateway, KnownModels models, boolean keysRequired) {
        this.gateway = gateway;
        this.models = models;
        this.keysRequired = keysRequired;
    }

    /** Replaces what springdoc inferred with this description, keeping (and marking) what it does not cover. */
    void describe(OpenAPI api) {
        Paths inferred = api.getPaths() == null ? new Paths() : api.getPaths();
        Paths paths = paths();
        inferred.forEach((path, item) -> item.readOperationsMap().forEach((method, op) -> {
            PathItem described = paths.get(path);
            if (described == null || !described.readOperationsMap().containsKey(method)) {
                op.addExtension(UNDESCRIBED, true);
                paths.computeIfAbsent(path, p -> new PathItem()).operation(method, op);
            }
        }));
        api.info(info());
        api.paths(paths);
        Components components = new Components();
        JobSchemas.all(gateway, models).forEach(components::addSchemas);
        components.addSecuritySchemes(BEARER, new SecurityScheme().type(SecurityScheme.Type.HTTP).scheme("bearer")
                .description("An API key as `Authorization: Bearer <key>` on every /v1 request"
                        + (keysRequired ? "." : "; this gateway has no keys configured, so its API is open.")));
        api.components(components);
        api.security(keysRequired ? List.of(new SecurityRequirement().addList(BEARER)) : null);
    }

    private Info info() {
        return new Info().title("diffq API").version("v1").description("""
                An asynchronous queue for text-to-image diffusion. Submit a job (202 with its id once it is stored \
                in Kafka), then poll it, stream its events or fetch its image. Every error is an RFC 9457 \
                application/problem+json with a stable type URI; 400 names the field at fault. Every /v1 request \
                needs `Authorization: Bearer <key>` where keys are configured (else 401) and is rate-limited per \
                client (429 with Retry-After).""");
    }

    private Paths paths() {
        Paths p = new Paths();
        p.addPathItem("/v1/jobs", new PathItem().post(submit()).get(list()));
        p.addPathItem("/v1/jobs/{id}", new PathItem().get(get()).delete(cancel("cancelJob")).addParametersItem(id()));
        p.addPathItem("/v1/jobs/{id}/cancel", new PathItem().post(cancel("cancelJobByPost")).addParametersItem(id()));
        p.addPathItem("/v1/jobs/{id}/events", new PathItem().get(events()).addParametersItem(id()));
        p.addPathItem("/v1/jobs/{id}/image", new PathItem().get(image()).addParametersItem(id()));
        p.addPathItem("/v1/models", new PathItem().get(new Operation().operationId("listModels").tags(List.of("models"))
                .summary("The models a job may name, with the sizes and schedulers each offers")
                .responses(api(new ApiResponses()
                        .addApiResponse("200", json("The models.", JobSchemas.MODELS))))));
        p.addPathItem("/v1/queue", new PathItem().get(new Operation().operationId("getQueue").tags(List.of("queue"))
                .summary("The queue, model by model: waiting and running jobs, workers, throughput")
                .responses(api(new ApiResponses()
                        .addApiResponse("200", json("The queue now.", JobSchemas.QUEUE))))));
        return p;
    }

    private Operation submit() {
        long maxBody = gateway.maxBodySize().toBytes();
        return new Operation().operationId("submitJob").tags(List.of("jobs")).summary("Submit a job")
                .description("Answers 202 once the job is durably in the queue (the broker acknowledged it): a job "
                        + "id always names a stored job. With 'Prefer: wait=N' the answer waits up to N seconds for "
                        + "the job to finish and is then 200 with the job.")
                .addParametersItem(header(JobRequestParser.IDEMPOTENCY_HEADER, "Makes the submit safe to retry: the "
                        + "same key and request answer the same job (Idempotency-Replayed: true) and create none; "
                        + "the same key with another request is 422. Scoped to the API key.",
                        string(null).minLength(1).maxLength(255).pattern("^[\\x21-\\x7E]{1,255}$")))
                .addParametersItem(header("Prefer", "'wait=N': wait up to N seconds for the job to finish.",
                        string(null).pattern("^wait=[0-9]+$")))
                .requestBody(new RequestBody().required(true)
                        .description("At most " + maxBody + " bytes (diffq.gateway.max-body-size), strict UTF-8.")
                        .content(new Content().addMediaType(JSON,
                                new MediaType().schema(ref(JobSchemas.JOB_REQUEST))
                                        .example(Map.of("prompt", "a red circle on a blue background",
                                                "steps", gateway.limits().defaultSteps(), "seed", 42)))))
                .responses(api(new ApiResponses()
                        .addApiResponse("200", json("'Prefer: wait' saw the job finish: the job.", JobSchemas.JOB_VIEW)
                                .addHeaderObject("Preference-Applied", header("The wait applied, 'wait=N'.", true)))
                        .addApiResponse("202", json("Stored in the queue.", JobSchemas.JOB_ACCEPTED)
                                .addHeaderObject("Location", new Header().required(true).description("The job.")
                                        .schema(string("uri-reference", null)))
                                .addHeaderObject("Idempotency-Replayed", new Header().required(true)
                                        .description("true when an earlier submit with the same Idempotency-Key "
                                                + "created this job.")
                                        .schema(enumOf(List.of("true", "false"), null))))
                        .addApiResponse("400", problem("Invalid input: field names the first bad field, errors "
                                + "lists all.", INVALID))
                        .addApiResponse("403", problem("The priority asked for is above the API key's max-priority "
                                + "(field priority; maxPriority names the most it may ask for). No job was created.",
                                PRIORITY))
                        .addApiResponse("413", problem("The body is over " + maxBody + " bytes.", TOO_LARGE))
                        .addApiResponse("415", problem("Not Content-Type: application/json.", UNSUPPORTED))
                        .addApiResponse("422", problem("The Idempotency-Key was used for another request.", REUSED))
                        .addApiResponse("429", retry(problem("Over the client's rate limit, its API key's jobs "
                                + "waiting at its max-waiting (quota-exceeded, field max-waiting), the queue past its "
                                + "bounds (diffq.gateway.backpressure), or the job could not start before its "
                                + "deadline at the current rate. No job was created.", RATE_LIMITED, QUOTA, FULL)))
                        .addApiResponse("503", retry(problem("Kafka did not take the job in time, or the gateway "
                                + "could not read back which of concurrent idempotent submits won. No job was "
                                + "created; retry (with the same Idempotency-Key).", UNAVAILABLE)))));
    }

    private Operation list() {
        return new Operation().operationId("listJobs").tags(List.of("jobs"))
                .summary("The client's jobs, newest first (an admin key sees every client's)")
                .addParametersItem(query("state", "Only jobs in this state.",
                        enumOf(Arrays.stream(JobState.values()).map(Enum::name).toList(), null)))
                .addParametersItem(query("priority", "Only jobs of this priority (comma-separated for several). "
                        + "A page may then hold fewer jobs than the limit, even none, and still have a next: each "
                        + "page reads at most 2000 jobs of the listing.", enumOf(Priority.NAMES, null)))
                .addParametersItem(query("limit", "Most jobs in one page.", withDefault(integer(1, 100, null), 20)))
                .addParametersItem(query("cursor", "The next page: 'next' of the previous one.", string(null)))
                .responses(api(new ApiResponses()
                        .addApiResponse("200", json("A page of jobs.", JobSchemas.JOB_LIST))
                        .addApiResponse("400", problem("An invalid state, priority, limit or cursor.", INVALID))));
    }

    private Operation get() {
        return new Operation().operationId("getJob").tags(List.of("jobs")).summary("Poll a job")
                .responses(api(jobResponses(new ApiResponses()
                        .addApiResponse("200", json("The job.", JobSchemas.JOB_VIEW)))));
    }

    private Operation cancel(String operationId) {
        return new Operation().operationId(operationId).tags(List.of("jobs")).summary("Cancel a job")
                .description("A queued job will never run and ends CANCELED; a running one stops at its next "
                        + "denoising step.")
                .responses(api(jobResponses(new ApiResponses()
                        .addApiResponse("202", json("Cancel requested: the job as it was.", JobSchemas.JOB_VIEW))
                        .addApiResponse("409", problem("The job already finished.", FINISHED)))));
    }

    private Operation events() {
        Schema<Object> stream = string("""
                Server-sent events. 'event: status' frames, each with an 'id:' and the job as GET /v1/jobs/{id} \
                shows it as 'data:', at once and after each change; the stream ends after the final state. A \
                stream closed before that (stalled, max-duration, shutdown) ends with 'event: closed' and \
                data {"reason":"…"}. A ':' comment line is a heartbeat.""");
        return new Operation().operationId("streamJob").tags(List.of("jobs")).summary("Stream a job's status")
                .addParametersItem(header("Last-Event-ID", "The id of the last event seen: a reconnecting client "
                        + "gets what came after it.", string(null)))
                .responses(api(jobResponses(new ApiResponses()
                        .addApiResponse("200", new ApiResponse().description("The event stream.")
                                .content(new Content().addMediaType("text/event-stream", new MediaType().schema(stream))))
                        .addApiResponse("429", retry(problem("Over the client's rate limit, or too many open streams "
                                + "(diffq.gateway.streams.max-per-client, max-total).", RATE_LIMITED,
                                TOO_MANY_STREAMS))))));
    }

    private Operation image() {
        return new Operation().operationId("getJobImage").tags(List.of("jobs")).summary("Fetch a job's image")
                .responses(api(jobResponses(new ApiResponses()
                        .addApiResponse("200", new ApiResponse().description("The PNG.")
                                .content(new Content().addMediaType("image/png", new MediaType()
                                        .schema(string(null).contentMediaType("image/png")))))
                        .addApiResponse("409", problem("The job has not succeeded (yet).", NOT_READY))
                        .addApiResponse("410", problem("The image is past the result retention.", EXPIRED)))));
    }

    /** What every operation on one job may also answer: unknown job, or the topics cannot tell. */
    private static ApiResponses jobResponses(ApiResponses r) {
        return r.addApiResponse("404", problem("No such job.", NOT_FOUND))
                .addApiResponse("503", retry(problem("The gateway does not hold the job and cannot read the "
                        + "topics to find out (broker down).", UNAVAILABLE)));
    }

    /** What every /v1 operation may also answer: no valid key, over the rate limit. Sorted by status. */
    private static ApiResponses api(ApiResponses r) {
        r.addApiResponse("401", problem("No valid API key (where keys are configured).", UNAUTHORIZED)
                .addHeaderObject("WWW-Authenticate", header("Bearer realm=\"diffq\".", true)));
        r.computeIfAbsent("429", s -> retry(problem("Over the client's rate limit.", RATE_LIMITED)));
        ApiResponses sorted = new ApiResponses();
        r.keySet().stream().sorted().forEach(status -> sorted.addApiResponse(status, r.get(status)));
        return sorted;
    }

    private static ApiResponse json(String description, String schema) {
        return new ApiResponse().description(description)
                .content(new Content().addMediaType(JSON, new MediaType().schema(ref(schema))));
    }

    /** A problem answer and the types it may carry, each as an example with its type and title. */
    private static ApiResponse problem(String description, Kind... kinds) {
        MediaType media = new MediaType().schema(ref(JobSchemas.PROBLEM));
        Map<String, Example> examples = new LinkedHashMap<>();
        for (Kind k : kinds) {
            String name = k.type().toString().substring(k.type().toString().lastIndexOf('/') + 1);
            examples.put(name, new Example().summary(k.title()).value(Map.of("type", k.type().toString(),
                    "title", k.title())));
        }
        media.examples(examples);
        return new ApiResponse().description(description).content(new Content().addMediaType(PROBLEM_JSON, media));
    }

    private static ApiResponse retry(ApiResponse r) {
        return r.addHeaderObject("Retry-After", header("Seconds to wait before trying again.", true)
                .schema(integer(null).minimum(java.math.BigDecimal.ONE)));
    }

    private static Header header(String description, boolean required) {
        return new Header().description(description).required(required).schema(string(null));
    }

    private static Parameter header(String name, String description, Schema<?> schema) {
        return new Parameter().in("header").name(name).description(description).required(false).schema(schema);
    }

    private static Parameter query(String name, String description, Schema<?> schema) {
        return new Parameter().in("query").name(name).description(description).required(false).schema(schema);
    }

    private static Parameter id() {
        return new Parameter().in("path").name("id").required(true).description("The job id (a UUID, in any case).")
                .schema(string("uuid", null));
    }

    private static Schema<Object> withDefault(Schema<Object> s, Object value) {
        s.setDefault(value);
        return s;
    }
}
