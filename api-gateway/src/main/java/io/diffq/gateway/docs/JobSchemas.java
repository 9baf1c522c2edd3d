package io.diffq.gateway.docs;

import static io.diffq.gateway.docs.Json.array;
import static io.diffq.gateway.docs.Json.bool;
import static io.diffq.gateway.docs.Json.dateTime;
import static io.diffq.gateway.docs.Json.enumOf;
import static io.diffq.gateway.docs.Json.fields;
import static io.diffq.gateway.docs.Json.integer;
import static io.diffq.gateway.docs.Json.number;
import static io.diffq.gateway.docs.Json.object;
import static io.diffq.gateway.docs.Json.ref;
import static io.diffq.gateway.docs.Json.string;

import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.Priority;
import io.diffq.common.model.ModelCard;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.GatewayProperties.Limits;
import io.diffq.gateway.jobs.JobRequestParser;
import io.diffq.gateway.models.KnownModels;
import io.diffq.gateway.web.Problems;
import io.swagger.v3.oas.models.media.Schema;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The schemas of the API's bodies. The job request's bounds are read from the same settings the parser checks
 * ({@link Limits}, {@link JobRequestParser#MAX_SEED}, the models {@link KnownModels} knows right now), so the
 * description cannot promise what the parser refuses, nor the other way round.
 */
final class JobSchemas {

    static final String JOB_REQUEST = "JobRequest";
    static final String JOB_ACCEPTED = "JobAccepted";
    static final String JOB_VIEW = "JobView";
    static final String JOB_LIST = "JobList";
    static final String MODELS = "Models";
    static final String QUEUE = "Queue";
    static final String PROBLEM = "Problem";

    private static final List<String> STATES = Arrays.stream(JobState.values()).map(Enum::name).toList();

    private JobSchemas() {
    }

    /** Every schema of {@code components.schemas}, by name. */
    static Map<String, Schema> all(GatewayProperties properties, KnownModels models) {
        Map<String, Schema> all = new LinkedHashMap<>();
        all.put(JOB_REQUEST, jobRequest(properties.limits(), models));
        all.put(JOB_ACCEPTED, jobAccepted());
        all.put(JOB_VIEW, jobView());
        all.put(JOB_LIST, jobList());
        all.put(MODELS, models());
        all.put(QUEUE, queue());
        all.put(PROBLEM, problem());
        return all;
    }

    static Schema<Object> jobRequest(Limits limits, KnownModels known) {
        List<ModelCard> cards = known.all();
        int minSize = cards.stream().mapToInt(ModelCard::minSize).min().orElse(limits.minSize());
        int maxSize = cards.stream().mapToInt(ModelCard::maxSize).max().orElse(limits.maxSize());
        String perModel = cards.isEmpty() ? "no model is known yet"
                : cards.stream().map(c -> c.describeSizes() + " (default " + c.defaultSize() + ")")
                        .collect(Collectors.joining("; "));
        String schedulers = cards.isEmpty() ? "no model is known yet"
                : cards.stream().map(c -> c.name() + ": " + c.schedulers() + " (default " + c.defaultScheduler() + ")")
                        .collect(Collectors.joining("; "));
        String names = cards.stream().map(ModelCard::name).toList().toString();

        Schema<Object> prompt = string("What to draw. Not blank, no control characters other than tab and line "
                + "breaks; surrounding white space is stripped.").minLength(1).maxLength(limits.maxPromptLength());
        Schema<Object> negative = string("What not to draw. Default: empty.").maxLength(limits.maxPromptLength());
        Schema<Object> width = integer(minSize, maxSize, "Image width in pixels. What the model draws decides the "
                + "sizes allowed and the default (see GET /v1/models); now: " + perModel + ".");
        Schema<Object> height = integer(minSize, maxSize, "Image height in pixels, as width.");
        Schema<Object> steps = integer(limits.minSteps(), limits.maxSteps(), "Denoising steps.");
        steps.setDefault(limits.defaultSteps());
        Schema<Object> guidance = number("Classifier-free guidance scale. Default: the model's own (GET "
                + "/v1/models, defaultGuidance), else " + limits.defaultGuidance() + ".")
                .minimum(BigDecimal.ZERO).maximum(BigDecimal.valueOf(limits.maxGuidanceScale()));
        Schema<Object> seed = integer(0, JobRequestParser.MAX_SEED,
                "Random seed: the same seed and parameters draw the same image on the same device. Default: random "
                        + "(the job view shows the one drawn).");
        Schema<Object> model = string("The model to draw with, in any case: one a worker advertised or one the "
                + "gateway declares (diffq.gateway.models.served). Now one of " + names + "; default "
                + known.defaultModel() + ". The list changes as workers come and go: GET /v1/models is current.");
        model.setDefault(known.defaultModel());
        Schema<Object> scheduler = string("The sampling scheduler, in any case (stored lower-cased): one the model "
                + "offers; now " + schedulers + ".");
        Schema<Object> deadline = integer(1, limits.maxDeadline().toSeconds(),
                "Seconds from now by which a worker must have started the job, or it ends EXPIRED without using a GPU; "
                        + "a submit that cannot start in time at the current rate is refused with 429. Default: none.");
        Schema<Object> webhook = string("uri", "An http or https URL to POST the job's events to (Standard Webhooks "
                + "signatures). Addresses in private, loopback and link-local ranges are refused unless the gateway "
                + "allows the host.");
        Schema<Object> webhookEvents = array(enumOf(JobRequest.Webhook.EVENTS, null),
                "Which events to deliver to webhook; only with webhook. Default: [\"" + JobRequest.Webhook.COMPLETED
                        + "\"].").minItems(1).uniqueItems(true);
        webhookEvents.setDefault(List.of(JobRequest.Webhook.COMPLETED));
        Schema<Object> priority = enumOf(Priority.NAMES, "How urgent the job is. Above the API key's max-priority "
                + "(normal unless configured) it is refused with 403 priority-not-allowed. Recorded and shown; the order "
                + "in which workers take waiting jobs does not follow it yet (docs/design/lanes.md). Default: normal.");
        priority.setDefault(Priority.NORMAL.apiName());

        Schema<Object> s = object("A job to run. Strict JSON: unknown or duplicate fields and values of the wrong JSON "
                        + "type are refused (400 naming the field), never coerced; null means the default.",
                fields("prompt", prompt, "negativePrompt", negative, "width", width, "height", height, "steps", steps,
                        "guidanceScale", guidance, "seed", seed, "model", model, "scheduler", scheduler,
                        "deadlineSeconds", deadline, "webhook", webhook, "webhookEvents", webhookEvents,
                        "priority", priority),
                "prompt");
        s.additionalProperties(false);
        return s;
    }

    private static Schema<Object> selfLink(String description) {
        return object(description, fields("self", string("uri-reference", "This job: GET it to poll.")), "self");
    }

    static Schema<Object> jobAccepted() {
        return object("A job stored in the queue.", fields(
                        "id", string("uuid", "The job id."),
                        "state", enumOf(List.of(JobState.QUEUED.name()), "Always QUEUED at submit."),
                        "createdAt", dateTime("When the gateway accepted it."),
                        "links", selfLink("Where to find the job.")),
                "id", "state", "createdAt", "links");
    }

    static Schema<Object> jobView() {
        Schema<Object> progress = object("Denoising progress, once a worker started it.", fields(
                        "step", integer("Steps done."),
                        "totalSteps", integer("Steps in all.")),
                "step", "totalSteps");
        Schema<Object> timings = object("Durations in milliseconds, as far as known.", fields(
                "queuedMs", integer("Acceptance until a worker started it (until now, while queued)."),
                "inferenceMs", integer("Time in the model."),
                "totalMs", integer("Acceptance until its terminal state (until now, while not finished).")));
        Schema<Object> error = object("Why it failed.", fields(
                        "type", string("A stable kind, e.g. model-error, unsupported-model, deadline-exceeded."),
                        "message", string("What went wrong, for a person; never a stack trace."),
                        "retryable", bool("Whether another attempt could succeed.")),
                "type", "message", "retryable");
        Schema<Object> request = object("The parameters it runs with, defaults filled in.", fields(
                "prompt", string(null),
                "negativePrompt", string(null),
                "width", integer(null),
                "height", integer(null),
                "steps", integer(null),
                "guidanceScale", number(null),
                "seed", integer("The seed it draws with (drawn at random when the submit gave none)."),
                "scheduler", string("The scheduler, lower-cased; absent: the model's default."),
                "deadline", dateTime("When a worker must have started it by (from deadlineSeconds)."),
                "webhook", string("uri", "Where its events are delivered."),
                "webhookEvents", array(string(null), "Which events are delivered."),
                "priority", enumOf(Priority.NAMES, "How urgent it is (normal unless the submit asked otherwise).")));
        Schema<Object> links = object("Related resources.", fields(
                        "self", string("uri-reference", "This job."),
                        "image", string("uri-reference", "Its PNG, once SUCCEEDED.")),
                "self");
        Schema<Object> queue = object("Its place in the queue; only while QUEUED.", fields(
                        "position", integer("Jobs of the same model ahead of it (0: it is next)."),
                        "estimatedStartAt", dateTime("When a worker should start it, from the fleet's recent "
                                + "throughput; absent while none has been seen."),
                        "estimatedFinishAt", dateTime("When it should finish.")),
                "position");
        return object("A job as the API shows it. Fields without a value are left out.", fields(
                        "id", string("uuid", "The job id."),
                        "state", enumOf(STATES, "QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELED; QUEUED → "
                                + "CANCELED | EXPIRED. SUCCEEDED, FAILED, CANCELED and EXPIRED are final."),
                        "attempt", integer("The delivery attempt: 0 while queued, more than 1 after a worker was lost."),
                        "model", string("The model serving it."),
                        "progress", progress,
                        "createdAt", dateTime("When it was accepted."),
                        "startedAt", dateTime("When its current attempt started."),
                        "finishedAt", dateTime("When it reached its final state."),
                        "timings", timings,
                        "error", error,
                        "cancelRequestedAt", dateTime("When a client asked to cancel it."),
                        "request", request,
                        "links", links,
                        "queue", queue),
                "id", "state", "attempt", "timings", "links");
    }

    static Schema<Object> jobList() {
        return object("Jobs, newest first.", fields(
                        "jobs", array(ref(JOB_VIEW), "This page of jobs."),
                        "next", string("The cursor of the next page; absent on the last."),
                        "links", object("Links; absent on the last page.", fields(
                                "next", string("uri-reference", "The next page: same state and limit, with the cursor.")),
                                "next")),
                "jobs");
    }

    static Schema<Object> models() {
        Schema<Object> model = object("A model and what it draws.", fields(
                        "name", string("Its name, as jobs ask for it."),
                        "advertised", bool("Whether a worker advertised it; false: declared by the gateway, shown "
                                + "with the general limits."),
                        "defaultSize", integer("Width and height of a job that gives neither."),
                        "minSize", integer("Smallest width or height."),
                        "maxSize", integer("Largest width or height."),
                        "sizeMultiple", integer("Width and height are multiples of this."),
                        "squareOnly", bool("Whether width and height must be equal."),
                        "schedulers", array(string(null), "Schedulers it offers; the first is its default."),
                        "defaultGuidance", number("Guidance scale of a job that gives none."),
                        "worker", string("The worker that last advertised it."),
                        "advertisedAt", dateTime("When.")),
                "name", "advertised", "defaultSize", "minSize", "maxSize", "sizeMultiple", "squareOnly", "schedulers",
                "defaultGuidance");
        return object("The models a job may name.", fields(
                        "defaultModel", string("The model of a job that names none."),
                        "models", array(model, "Every model, by name.")),
                "defaultModel", "models");
    }

    static Schema<Object> queue() {
        Schema<Object> model = object("One model's queue.", fields(
                        "model", string("The model."),
                        "waiting", integer("Jobs waiting for a worker."),
                        "running", integer("Jobs running."),
                        "workers", integer("Workers serving the model."),
                        "throughputPerMinute", number("Jobs finished per minute, recently."),
                        "oldestWaitSeconds", number("How long the oldest waiting job has waited; 0 when none waits."),
                        "oldestQueuedAt", dateTime("When the oldest waiting job was accepted; absent when none waits.")),
                "model", "waiting", "running", "workers", "throughputPerMinute", "oldestWaitSeconds");
        Schema<Object> you = object("The caller's own jobs; only when an API key authenticated the request.", fields(
                        "key", string("The API key's name."),
                        "waiting", integer("Its jobs accepted and not yet started."),
                        "maxWaiting", integer("The most it may have waiting (max-waiting); past it a submit gets 429 "
                                + "quota-exceeded. Absent when it has no limit."),
                        "maxPriority", enumOf(Priority.NAMES, "The most urgent priority its jobs may ask for "
                                + "(max-priority).")),
                "key", "waiting");
        Schema<Object> pool = object("One pool of workers (with lanes). A model two pools serve counts in both.",
                fields(
                        "pool", string("The pool."),
                        "models", array(string(null), "The models it serves."),
                        "devices", integer("Its devices: workers' devices assigned its lane."),
                        "waiting", integer("Jobs of its models that no worker has started."),
                        "running", integer("Jobs of its models a worker is running."),
                        "oldestWaitSeconds", number("How long the oldest of those waiting has waited; 0 when none "
                                + "waits.")),
                "pool", "models", "devices", "waiting", "running", "oldestWaitSeconds");
        return object("The queue, model by model (and pool by pool, with lanes).", fields(
                        "at", dateTime("When it was read."),
                        "waiting", integer("Jobs waiting for a worker, all models together."),
                        "workers", integer("Members of the worker group, idle ones too."),
                        "models", array(model, "Each model's queue."),
                        "pools", array(pool, "With lanes (diffq.gateway.dispatch.enabled), each pool's queue; absent "
                                + "without."),
                        "unrouted", integer("With lanes, the waiting jobs whose model no pool serves: they wait until a "
                                + "worker declares a pool for it. Absent without lanes."),
                        "you", you),
                "at", "waiting", "workers", "models");
    }

    static Schema<Object> problem() {
        Schema<Object> fieldError = object("One invalid field.", fields(
                        "field", string("The field (or header, or (body) for the body as a whole)."),
                        "message", string("What is wrong with it.")),
                "field", "message");
        return object("An RFC 9457 problem detail.", fields(
                        "type", string("uri", "Stable and machine-readable: " + Problems.INVALID_REQUEST + ", "
                                + Problems.UNAUTHORIZED + ", … (each answer lists its own), or "
                                + "`" + Problems.HTTP + "<status>` for plain HTTP errors."),
                        "title", string("A fixed summary of the type."),
                        "status", integer("The HTTP status."),
                        "detail", string("What happened in this case."),
                        "instance", string("uri-reference", "The request's path."),
                        "field", string("The first invalid field (400), the field refused (403: priority; 429: "
                                + "max-waiting), or the header at fault (422)."),
                        "errors", array(fieldError, "Every invalid field (400)."),
                        "state", enumOf(STATES, "The job's state (409, 410)."),
                        "maxPriority", enumOf(Priority.NAMES, "The most urgent priority the API key may ask for "
                                + "(403 priority-not-allowed).")),
                "type", "title", "status");
    }
}
