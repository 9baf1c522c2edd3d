package io.diffq.gateway.jobs;

import io.diffq.common.job.JobControl;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.common.job.Priority;
import io.diffq.gateway.ApiClient;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.queue.Admission;
import io.diffq.gateway.queue.OverloadedException;
import io.diffq.gateway.queue.QuotaExceededException;
import io.diffq.gateway.status.JobStatusView;
import io.diffq.gateway.status.QueuePositions;
import io.diffq.gateway.status.ResultReader;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestAttribute;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.context.request.async.DeferredResult;

/** The jobs API: submit (and wait), poll or stream, list, fetch the image, cancel. */
@RestController
@RequestMapping("/v1/jobs")
class JobsController {

    private static final Pattern JOB_ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private final JobRequestParser parser;
    private final JobSubmitter submitter;
    private final JobStatusView view;
    private final QueuePositions positions;
    private final ResultReader results;
    private final Admission admission;
    private final JobStreams streams;
    private final JobWaits waits;
    private final GatewayProperties properties;
    private final Clock clock;

    JobsController(JobRequestParser parser, JobSubmitter submitter, JobStatusView view, QueuePositions positions,
            ResultReader results, Admission admission, JobStreams streams, JobWaits waits, GatewayProperties properties,
            Clock clock) {
        this.parser = parser;
        this.submitter = submitter;
        this.view = view;
        this.positions = positions;
        this.results = results;
        this.admission = admission;
        this.streams = streams;
        this.waits = waits;
        this.properties = properties;
        this.clock = clock;
    }

    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE, produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<Map<String, Object>> submit(InputStream body,
            @RequestHeader(name = "Content-Length", required = false) Long contentLength,
            @RequestHeader(name = JobRequestParser.IDEMPOTENCY_HEADER, required = false) String idempotencyKey,
            @RequestAttribute(name = ApiClient.ATTRIBUTE, required = false) String client,
            @RequestAttribute(name = ApiClient.MAX_WAITING, required = false) Integer maxWaiting,
            @RequestAttribute(name = ApiClient.MAX_PRIORITY, required = false) Priority maxPriority) throws IOException {
        return accepted(store(body, contentLength, idempotencyKey, client, maxWaiting, maxPriority));
    }

    /**
     * A submit with {@code Prefer} headers: with {@code wait=N}, answered with the finished job ({@code 200}) once
     * it finishes within N seconds (cut to {@code diffq.gateway.waits.max}), else with {@code 202} as without.
     * Both say {@code Preference-Applied: wait=<seconds waited for>}; a submit past the caps on waiting is answered
     * at once, without it. No thread waits: the answer is deferred until the status view sees the job end.
     */
    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE, produces = MediaType.APPLICATION_JSON_VALUE,
            headers = JobWaits.PREFER)
    DeferredResult<ResponseEntity<?>> submitAndWait(InputStream body,
            @RequestHeader(name = "Content-Length", required = false) Long contentLength,
            @RequestHeader(name = JobRequestParser.IDEMPOTENCY_HEADER, required = false) String idempotencyKey,
            @RequestHeader(name = JobWaits.PREFER) List<String> prefer,
            @RequestAttribute(name = ApiClient.ATTRIBUTE, required = false) String client,
            @RequestAttribute(name = ApiClient.IDENTITY, required = false) String identity,
            @RequestAttribute(name = ApiClient.MAX_WAITING, required = false) Integer maxWaiting,
            @RequestAttribute(name = ApiClient.MAX_PRIORITY, required = false) Priority maxPriority) throws IOException {
        Submitted submitted = store(body, contentLength, idempotencyKey, client, maxWaiting, maxPriority);
        OptionalLong requested = JobWaits.requestedWait(prefer);
        DeferredResult<ResponseEntity<?>> now = new DeferredResult<>();
        if (requested.isEmpty() || requested.getAsLong() == 0) {
            now.setResult(accepted(submitted));
            return now;
        }
        Duration wait = waits.granted(requested.getAsLong());
        String applied = "wait=" + wait.toSeconds();
        String id = submitted.request().id();
        return waits.await(id, identity == null ? ApiClient.ANONYMOUS : identity, wait,
                        finished -> ResponseEntity.ok()
                                .location(URI.create("/v1/jobs/" + id))
                                .header(JobWaits.PREFERENCE_APPLIED, applied)
                                .header("Idempotency-Replayed", String.valueOf(submitted.replayed()))
                                .cacheControl(CacheControl.noStore())
                                .body(view(finished)),
                        () -> {
                            ResponseEntity<Map<String, Object>> accepted = accepted(submitted);
                            return ResponseEntity.accepted()
                                    .headers(accepted.getHeaders())
                                    .header(JobWaits.PREFERENCE_APPLIED, applied)
                                    .body(accepted.getBody());
                        })
                .orElseGet(() -> {
                    now.setResult(accepted(submitted));
                    return now;
                });
    }

    /** A job stored (or found again, for a retry with the same {@code Idempotency-Key}). */
    private record Submitted(JobRequest request, boolean replayed) {
    }

    /**
     * @param maxWaiting  the most jobs the client's key may have waiting; {@code null} for no limit
     * @param maxPriority the most urgent priority the client's key may ask for; {@code null} (an open API) for any
     */
    private Submitted store(InputStream body, Long contentLength, String idempotencyKey, String client,
            Integer maxWaiting, Priority maxPriority) throws IOException {
        JobRequest request;
        try {
            request = parser.parse(readBounded(body, contentLength), idempotencyKey,
                    client == null ? ApiClient.ANONYMOUS : client);
        } catch (InvalidJobException | PayloadTooLargeException e) {
            submitter.count("invalid");
            throw e;
        }
        if (maxPriority != null && request.priority().isAbove(maxPriority)) {
            submitter.count("priority-not-allowed");
            throw new PriorityNotAllowedException(client, request.priority(), maxPriority);
        }
        if (idempotencyKey != null) {
            Optional<JobStatus> earlier = view.findWithRequest(request.id());
            if (earlier.isPresent()) {
                return replay(earlier.get().request(), request);
            }
        }
        try {
            admission.admit(request, maxWaiting);
        } catch (QuotaExceededException e) {
            submitter.count("quota-exceeded");
            throw e;
        } catch (OverloadedException e) {
            submitter.count("overloaded");
            throw e;
        }
        RecordMetadata stored = submitter.submit(request);
        if (idempotencyKey == null) {
            return new Submitted(request, false);
        }
        // Concurrent submits with one key may each have stored a record: the first in the partition is the
        // job, here as on every gateway and worker. Read back to the one just stored to learn which it is.
        JobStatusView.FirstRequest first = view.firstRequest(request.id(), stored.partition(), stored.offset())
                .orElseThrow(() -> new IdempotencyUndecidedException(request.id()));
        if (first.ours()) {
            return new Submitted(request, false);
        }
        return replay(first.request(), request);
    }

    /** The same key again: the same job if the same request, a conflict if not. */
    private Submitted replay(JobRequest first, JobRequest retry) {
        if (!Objects.equals(first.fingerprint(), retry.fingerprint())) {
            throw new IdempotencyConflictException(first.id());
        }
        return new Submitted(first, true);
    }

    private static ResponseEntity<Map<String, Object>> accepted(Submitted submitted) {
        JobRequest request = submitted.request();
        boolean replayed = submitted.replayed();
        URI location = URI.create("/v1/jobs/" + request.id());
        return ResponseEntity.accepted()
                .location(location)
                .header("Idempotency-Replayed", String.valueOf(replayed))
                .body(Map.of(
                        "id", request.id(),
                        "state", JobState.QUEUED,
                        "createdAt", request.createdAt(),
                        "links", Map.of("self", location.toString())));
    }

    /** Asks to cancel: a queued job will never run, a running one stops at its next denoising step. */
    @DeleteMapping(path = "/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobView> cancel(@PathVariable String id, HttpServletRequest request) {
        JobStatus status = find(id, request);
        if (status.state().isTerminal()) {
            throw new JobFinishedException(status.id(), status.state());
        }
        submitter.cancel(JobControl.cancel(status.id(), clock.instant()));
        return ResponseEntity.accepted()
                .cacheControl(CacheControl.noStore())
                .body(view(status));
    }

    /** {@code POST /v1/jobs/{id}/cancel}: the same as {@code DELETE /v1/jobs/{id}}, for clients that cannot DELETE. */
    @PostMapping(path = "/{id}/cancel", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobView> cancelByPost(@PathVariable String id, HttpServletRequest request) {
        return cancel(id, request);
    }

    @GetMapping(path = "/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobView> get(@PathVariable String id, HttpServletRequest request) {
        JobStatus status = find(id, request);
        return ResponseEntity.ok()
                .cacheControl(CacheControl.noStore())
                .body(view(status));
    }

    /** The job's status as server-sent events, until it ends. */
    @GetMapping(path = "/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    void events(@PathVariable String id,
            @RequestAttribute(name = ApiClient.IDENTITY, required = false) String client,
            HttpServletRequest request, HttpServletResponse response) throws IOException {
        streams.open(find(id, request), client == null ? ApiClient.ANONYMOUS : client, this::view,
                request.getHeader(StatusStream.LAST_EVENT_ID), request, response);
    }

    @GetMapping(path = "/{id}/image", produces = MediaType.IMAGE_PNG_VALUE)
    ResponseEntity<byte[]> image(@PathVariable String id, HttpServletRequest request) {
        JobStatus status = find(id, request);
        if (status.state() != JobState.SUCCEEDED || status.result() == null) {
            throw new ImageUnavailableException(status.id(), status.state(), false);
        }
        byte[] png = results.read(status.id(), status.result())
                .orElseThrow(() -> new ImageUnavailableException(status.id(), status.state(), true));
        return ResponseEntity.ok()
                .contentType(MediaType.IMAGE_PNG)
                .cacheControl(CacheControl.maxAge(properties.statusRetention()).cachePrivate().immutable())
                .body(png);
    }

    /**
     * {@code GET /v1/jobs}: the caller's jobs (every job for an {@code admin} key, or while the API is open),
     * newest first, as far as the status view holds them ({@code diffq.gateway.status-retention}).
     *
     * @param state    only jobs in these states (comma-separated, any case)
     * @param priority only jobs of these priorities (comma-separated: high, normal, low); a page may then hold
     *                 fewer jobs than asked, even none, with a next: the index is read {@value JobLists#MAX_SCANNED}
     *                 jobs at most per page
     * @param limit  at most this many, 1 to {@value JobLists#MAX_LIMIT} (default {@value JobLists#DEFAULT_LIMIT})
     * @param cursor the {@code next} of the previous page
     */
    @GetMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<Map<String, Object>> list(HttpServletRequest request) {
        // The query is read here, not by the container: its parameter parsing fails a hostile query (too many
        // parameters, bad escapes) with an exception of its own, where this answers a 400 naming the problem.
        Map<String, String> query = JobLists.query(request.getQueryString());
        String state = query.get("state");
        String priority = query.get("priority");
        String limit = query.get("limit");
        String cursor = query.get("cursor");
        JobLists.Query q = JobLists.query(state, priority, limit, cursor);
        JobLists.Page page;
        if (q.filtersPriority()) {
            // The index knows owners and states, not priorities: the jobs are filtered as they are read.
            JobStatusView.Filtered listed = view.page(listedOwner(request), q.states(), q.after(), q.limit() + 1,
                    s -> q.priorities().contains(s.request().priority()), JobLists.MAX_SCANNED);
            page = JobLists.page(q, listed.jobs(), listed.stoppedAt());
        } else {
            page = JobLists.page(q, view.page(listedOwner(request), q.states(), q.after(), q.limit() + 1));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("jobs", page.jobs().stream().map(this::view).toList());
        if (page.next() != null) {
            body.put("next", page.next());
            body.put("links", Map.of("next", page.nextLink(state, priority)));
        }
        return ResponseEntity.ok().cacheControl(CacheControl.noStore()).body(body);
    }

    private JobView view(JobStatus status) {
        return JobView.of(status, view.cancelRequestedAt(status.id()).orElse(null), clock.instant(),
                positions.position(status).orElse(null));
    }

    /**
     * The job named by a path, as the caller may see it: a UUID in any case (ids are stored in lower case, as
     * UUIDs print), and a job of another API key is not found, as if it did not exist.
     */
    private JobStatus find(String path, HttpServletRequest request) {
        String id = path.toLowerCase(Locale.ROOT);
        if (!JOB_ID.matcher(id).matches()) {
            throw new JobNotFoundException(path);
        }
        return view.find(id).filter(s -> visible(s, request)).orElseThrow(() -> new JobNotFoundException(path));
    }

    /**
     * Whose jobs the caller lists (besides jobs with no owner): its own, or everyone's ({@code null}) for an
     * {@code admin} key or while the API is open; as {@link #visible}.
     */
    private static String listedOwner(HttpServletRequest request) {
        Object caller = request.getAttribute(ApiClient.ATTRIBUTE);
        if (caller == null || Boolean.TRUE.equals(request.getAttribute(ApiClient.ADMIN))) {
            return null;
        }
        return caller.toString();
    }

    /**
     * Whether the caller may see the job: always while the API is open and for an {@code admin} key; otherwise
     * only a job the same key submitted, or one submitted while the API was open (it has no owner). A job whose
     * request this view no longer holds has no known owner and is shown to admins only.
     */
    private static boolean visible(JobStatus s, HttpServletRequest request) {
        String owner = listedOwner(request);
        if (owner == null) {
            return true;
        }
        JobRequest r = s.request();
        return r != null && (r.owner() == null || r.owner().equals(owner));
    }

    private byte[] readBounded(InputStream body, Long contentLength) throws IOException {
        long limit = properties.maxBodySize().toBytes();
        if (contentLength != null && contentLength > limit) {
            throw new PayloadTooLargeException(limit);
        }
        byte[] bytes;
        try {
            bytes = body.readNBytes((int) limit + 1);
        } catch (IOException e) {
            // A broken upload (bad chunk encoding, the client went away) is the client's fault, not ours.
            throw InvalidJobException.of("(body)", "the request body could not be read");
        }
        if (bytes.length > limit) {
            throw new PayloadTooLargeException(limit);
        }
        return bytes;
    }
}
