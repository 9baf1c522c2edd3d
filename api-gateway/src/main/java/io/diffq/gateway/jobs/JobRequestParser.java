package io.diffq.gateway.jobs;

import io.diffq.common.job.JobRequest;
import io.diffq.common.job.Priority;
import io.diffq.common.model.ModelCard;
import io.diffq.gateway.ApiClient;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.GatewayProperties.Limits;
import io.diffq.gateway.jobs.InvalidJobException.FieldError;
import io.diffq.gateway.models.KnownModels;
import io.diffq.gateway.webhooks.WebhookProperties;
import io.diffq.gateway.webhooks.WebhookUrlPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.springframework.stereotype.Component;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Turns a submit body into a {@link JobRequest}: strict JSON (no unknown or duplicate fields, no type
 * coercion), every bound checked, every error naming its field, defaults filled in. The model decides the
 * sizes and schedulers a job may ask for, and the default size: its card as a worker advertised it, or
 * the general limits for a declared model no worker has advertised yet.
 */
@Component
public class JobRequestParser {

    /** The largest seed a job may give (2^32 - 1); the API description reads it from here. */
    public static final long MAX_SEED = 4_294_967_295L;
    /** The header that makes a submit idempotent. */
    public static final String IDEMPOTENCY_HEADER = "Idempotency-Key";
    private static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7E]{1,255}");

    private static final Set<String> FIELDS = Set.of("prompt", "negativePrompt", "width", "height", "steps",
            "guidanceScale", "seed", "model", "scheduler", "deadlineSeconds", "webhook", "webhookEvents", "priority");

    private final JsonMapper mapper = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private final GatewayProperties properties;
    private final KnownModels models;
    private final Clock clock;
    private final JobIds ids;
    private final WebhookProperties webhooks;
    private final WebhookUrlPolicy webhookUrls;

    public JobRequestParser(GatewayProperties properties, KnownModels models, Clock clock, JobIds ids,
            WebhookProperties webhooks, WebhookUrlPolicy webhookUrls) {
        this.properties = properties;
        this.models = models;
        this.clock = clock;
        this.ids = ids;
        this.webhooks = webhooks;
        this.webhookUrls = webhookUrls;
    }

    /**
     * Parses and validates a submit with an optional {@code Idempotency-Key}, or throws {@link InvalidJobException}
     * listing every problem found. With a key, the job id is derived from the client and the key (a retry names the
     * same job; see {@link JobIds}), and the request carries a fingerprint of what was asked, so a retry that asks something else can be
     * told apart.
     *
     * @param idempotencyKey the header's value, or {@code null}
     * @param client         who submits (the API key's name, or {@link ApiClient#ANONYMOUS}), so that two clients'
     *                       keys never collide
     */
    public JobRequest parse(byte[] body, String idempotencyKey, String client) {
        if (idempotencyKey != null && !IDEMPOTENCY_KEY.matcher(idempotencyKey).matches()) {
            throw InvalidJobException.of(IDEMPOTENCY_HEADER, "must be 1 to 255 visible ASCII characters");
        }
        JsonNode root = readTree(body);
        Limits limits = properties.limits();
        List<FieldError> errors = new ArrayList<>();
        root.propertyNames().forEach(name -> {
            if (!FIELDS.contains(name)) {
                errors.add(new FieldError(name, "unknown field; expected one of " + FIELDS.stream().sorted().toList()));
            }
        });
        Fields f = new Fields(root, errors);

        String prompt = f.text("prompt", true, limits.maxPromptLength());
        String negative = f.text("negativePrompt", false, limits.maxPromptLength());
        Long width = f.integer("width");
        Long height = f.integer("height");
        int steps = (int) f.integer("steps", limits.minSteps(), limits.maxSteps(), limits.defaultSteps());
        double guidance = f.number("guidanceScale", 0, limits.maxGuidanceScale(), -1);
        long seed = f.integer("seed", 0, MAX_SEED, -1);
        String requestedModel = f.string("model");
        String scheduler = f.string("scheduler");
        long deadlineSeconds = f.integer("deadlineSeconds", 1, limits.maxDeadline().toSeconds(), -1);
        JobRequest.Webhook webhook = webhook(root, f, errors);
        Priority priority = priority(f.string("priority"), errors);

        // What the model draws decides the sizes and schedulers a job may ask for.
        ModelCard card = f.failed("model") ? null : model(requestedModel, errors);
        int w = 0;
        int h = 0;
        if (card != null) {
            w = width == null ? card.defaultSize() : saturatedInt(width);
            h = height == null ? card.defaultSize() : saturatedInt(height);
            if (!f.failed("width") && !f.failed("height")) {
                card.checkSize(w, h).ifPresent(f::fail);
            }
            if (!f.failed("scheduler")) {
                card.checkScheduler(scheduler).ifPresent(f::fail);
            }
            if (guidance < 0) {
                guidance = card.defaultGuidance() != null ? card.defaultGuidance() : limits.defaultGuidance();
            }
        }

        if (!errors.isEmpty()) {
            throw new InvalidJobException(errors);
        }
        // Stored as checked: the card's one spelling of a scheduler name.
        scheduler = ModelCard.schedulerName(scheduler);
        Instant now = clock.instant();
        // Without a webhook the digest is as it was before jobs had one, so a retry across an upgrade still matches.
        // Likewise a normal priority (asked or not) adds nothing to it.
        List<Object> asked = new ArrayList<>(Arrays.asList(prompt, negative, w, h, steps, guidance, seed, card.name(),
                scheduler, deadlineSeconds));
        if (webhook != null) {
            asked.addAll(List.of(webhook.url(), String.join(",", webhook.events())));
        }
        if (priority != Priority.NORMAL) {
            asked.add("priority=" + priority.apiName());
        }
        String fingerprint = idempotencyKey == null ? null : fingerprint(asked.toArray());
        String id = idempotencyKey == null ? ids.random() : ids.idempotent(client, idempotencyKey);
        return new JobRequest(
                id,
                prompt,
                negative == null ? "" : negative,
                w,
                h,
                steps,
                guidance,
                seed >= 0 ? seed : ThreadLocalRandom.current().nextLong(MAX_SEED + 1),
                card.name(),
                scheduler,
                now,
                deadlineSeconds > 0 ? now.plus(Duration.ofSeconds(deadlineSeconds)) : null,
                fingerprint,
                ApiClient.ANONYMOUS.equals(client) ? null : client,
                webhook,
                priority);
    }

    /**
     * The priority asked for: {@code normal} when absent (or not a string, which {@code Fields} already reported),
     * and an error for anything but an API name.
     */
    private static Priority priority(String name, List<FieldError> errors) {
        if (name == null) {
            return Priority.NORMAL;
        }
        Optional<Priority> priority = Priority.ofApiName(name);
        if (priority.isEmpty()) {
            errors.add(new FieldError("priority", "must be one of " + Priority.NAMES + ", not '" + name + "'"));
        }
        return priority.orElse(Priority.NORMAL);
    }

    /**
     * The webhook asked for, or {@code null} (with an error when the fields are wrong): a URL the
     * {@link WebhookUrlPolicy} lets through, and distinct known events, {@code completed} unless given.
     */
    private JobRequest.Webhook webhook(JsonNode root, Fields f, List<FieldError> errors) {
        String url = f.string("webhook");
        JsonNode events = root.get("webhookEvents");
        boolean eventsGiven = events != null && !events.isNull();
        if (url == null) {
            if (eventsGiven && !f.failed("webhook")) {
                errors.add(new FieldError("webhookEvents", "is only allowed with a webhook"));
            }
            return null;
        }
        if (!webhooks.active()) {
            errors.add(new FieldError("webhook", "webhooks are not configured on this gateway"
                    + " (diffq.gateway.webhooks: enabled, with at least one signing secret)"));
            return null;
        }
        try {
            webhookUrls.check(url);
        } catch (WebhookUrlPolicy.RefusedUrlException e) {
            errors.add(new FieldError("webhook", e.getMessage()));
        }
        if (!eventsGiven) {
            return new JobRequest.Webhook(url, List.of(JobRequest.Webhook.COMPLETED));
        }
        String expected = "; each one of " + JobRequest.Webhook.EVENTS;
        if (!events.isArray() || events.isEmpty()) {
            errors.add(new FieldError("webhookEvents", "must be a non-empty array of event names" + expected));
            return null;
        }
        List<String> names = new ArrayList<>();
        for (JsonNode e : events) {
            if (!e.isString() || !JobRequest.Webhook.EVENTS.contains(e.asString())) {
                errors.add(new FieldError("webhookEvents", "must list event names" + expected));
                return null;
            }
            names.add(e.asString());
        }
        if (new HashSet<>(names).size() != names.size()) {
            errors.add(new FieldError("webhookEvents", "must not name an event twice"));
            return null;
        }
        return new JobRequest.Webhook(url, names);
    }

    /** The card of the model asked for (or the default one), or {@code null} with an error when unknown. */
    private ModelCard model(String requested, List<FieldError> errors) {
        String name = requested == null ? models.defaultModel() : requested;
        Optional<ModelCard> card = models.find(name);
        if (card.isEmpty()) {
            List<String> known = models.names();
            String unknown = requested == null ? "the default model " + name + " is not available" : "unknown model";
            errors.add(new FieldError("model", unknown + (known.isEmpty() ? ": no worker has advertised a model yet"
                    : "; must be one of " + known)));
        }
        return card.orElse(null);
    }

    private static int saturatedInt(long v) {
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
    }

    /** A digest of the request as the client asked it (an absent seed stays absent, not the random one). */
    private static String fingerprint(Object... fields) {
        StringBuilder canonical = new StringBuilder();
        for (Object f : fields) {
            canonical.append(f == null ? "\u0000" : f.toString()).append('\u001f');
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private JsonNode readTree(byte[] body) {
        if (body.length == 0) {
            throw InvalidJobException.of("(body)", "a JSON object is required");
        }
        String text;
        try {
            // Strict RFC 3629: no overlong forms (C0 AF for '/'), no encoded surrogates, nothing truncated.
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body)).toString();
        } catch (CharacterCodingException e) {
            throw InvalidJobException.of("(body)", "is not valid UTF-8");
        }
        JsonNode root;
        try {
            root = mapper.readTree(text);
        } catch (JacksonException e) {
            // Where, not Jackson's own words: those name its internals and echo the input.
            var loc = e.getLocation();
            String where = loc == null || loc.getLineNr() < 0 ? ""
                    : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            String what = String.valueOf(e.getOriginalMessage()).startsWith("Duplicate") ? ": a field appears twice" : "";
            throw InvalidJobException.of("(body)", "malformed JSON" + where + what);
        }
        if (root == null || !root.isObject()) {
            throw InvalidJobException.of("(body)", "must be a JSON object");
        }
        return root;
    }

    /** Reads typed fields, collecting errors instead of stopping at the first. */
    private static final class Fields {

        private final JsonNode root;
        private final List<FieldError> errors;

        Fields(JsonNode root, List<FieldError> errors) {
            this.root = root;
            this.errors = errors;
        }

        String text(String name, boolean required, int maxLength) {
            JsonNode n = present(name);
            if (n == null) {
                if (required) {
                    errors.add(new FieldError(name, "is required"));
                }
                return null;
            }
            if (!n.isString()) {
                return fail(name, "must be a string", null);
            }
            String s = n.asString();
            if (required && s.isBlank()) {
                return fail(name, "must not be blank", null);
            }
            if (s.codePointCount(0, s.length()) > maxLength) {
                return fail(name, "must be at most " + maxLength + " characters", null);
            }
            if (s.chars().anyMatch(c -> Character.isISOControl(c) && c != '\n' && c != '\t' && c != '\r')) {
                return fail(name, "must not contain control characters", null);
            }
            return s.strip();
        }

        long integer(String name, long min, long max, long dflt) {
            JsonNode n = present(name);
            if (n == null) {
                return dflt;
            }
            if (!n.isIntegralNumber()) {
                return fail(name, "must be an integer", dflt);
            }
            if (!n.canConvertToLong() || n.asLong() < min || n.asLong() > max) {
                return fail(name, "must be between " + min + " and " + max, dflt);
            }
            return n.asLong();
        }

        /**
         * An integer of any size, range checks left to the caller: {@code null} when absent or not an integer
         * (an error then); one beyond {@code long} saturates.
         */
        Long integer(String name) {
            JsonNode n = present(name);
            if (n == null) {
                return null;
            }
            if (!n.isIntegralNumber()) {
                return fail(name, "must be an integer", null);
            }
            return n.canConvertToLong() ? n.asLong() : n.bigIntegerValue().signum() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }

        double number(String name, double min, double max, double dflt) {
            JsonNode n = present(name);
            if (n == null) {
                return dflt;
            }
            if (!n.isNumber()) {
                return fail(name, "must be a number", dflt);
            }
            // A BigInteger beyond double's range has no double value (Jackson throws): out of range.
            double v = n.isBigInteger() && !n.canConvertToLong() ? Double.POSITIVE_INFINITY : n.asDouble();
            if (!Double.isFinite(v) || v < min || v > max) {
                return fail(name, "must be between " + min + " and " + max, dflt);
            }
            return v;
        }

        /** A string, or {@code null} when absent or not a string (an error then). */
        String string(String name) {
            JsonNode n = present(name);
            if (n == null) {
                return null;
            }
            return n.isString() ? n.asString() : fail(name, "must be a string", null);
        }

        /** Whether the field has an error already. */
        boolean failed(String name) {
            return errors.stream().anyMatch(e -> e.field().equals(name));
        }

        void fail(ModelCard.Problem problem) {
            errors.add(new FieldError(problem.field(), problem.message()));
        }

        /** The field's node, or {@code null} when absent or JSON null (both mean: use the default). */
        private JsonNode present(String name) {
            JsonNode n = root.get(name);
            return n == null || n.isNull() ? null : n;
        }

        private <T> T fail(String name, String message, T fallback) {
            errors.add(new FieldError(name, message));
            return fallback;
        }
    }

}
