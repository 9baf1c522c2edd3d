package io.diffq.gateway.jobs;

import io.diffq.common.job.JobControl;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.gateway.ApiClient;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.queue.Admission;
import io.diffq.gateway.queue.OverloadedException;
import io.diffq.gateway.status.JobStatusView;
import io.diffq.gateway.status.ResultReader;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Clock;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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

/** The jobs API: submit, poll or stream, fetch the image, cancel. */
@RestController
@RequestMapping("/v1/jobs")
class JobsController {

    private static final Pattern JOB_ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private final JobRequestParser parser;
    private final JobSubmitter submitter;
    private final JobStatusView view;
    private final ResultReader results;
    private final Admission admission;
    private final JobStreams streams;
    private final GatewayProperties properties;
    private final Clock clock;

    JobsController(JobRequestParser parser, JobSubmitter submitter, JobStatusView view, ResultReader results,
            Admission admission, JobStreams streams, GatewayProperties properties, Clock clock) {
        this.parser = parser;
        this.submitter = submitter;
        this.view = view;
        this.results = results;
        this.admission = admission;
        this.streams = streams;
        this.properties = properties;
        this.clock = clock;
    }

    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE, produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<Map<String, Object>> submit(InputStream body,
            @RequestHeader(name = "Content-Length", required = false) Long contentLength,
            @RequestHeader(name = JobRequestParser.IDEMPOTENCY_HEADER, required = false) String idempotencyKey,
            @RequestAttribute(name = ApiClient.ATTRIBUTE, required = false) String client) throws IOException {
        JobRequest request;
        try {
            request = parser.parse(readBounded(body, contentLength), idempotencyKey,
                    client == null ? ApiClient.ANONYMOUS : client);
        } catch (InvalidJobException | PayloadTooLargeException e) {
            submitter.count("invalid");
            throw e;
        }
        if (idempotencyKey != null) {
            Optional<JobStatus> earlier = view.find(request.id());
            if (earlier.isPresent()) {
                return replay(earlier.get(), request);
            }
        }
        try {
            admission.admit(request);
        } catch (OverloadedException e) {
            submitter.count("overloaded");
            throw e;
        }
        RecordMetadata stored = submitter.submit(request);
        if (idempotencyKey == null) {
            return accepted(request, false);
        }
        // Concurrent submits with one key may each have stored a record: the first in the partition is the
        // job, here as on every gateway and worker. Read back to the one just stored to learn which it is.
        JobStatusView.FirstRequest first = view.firstRequest(request.id(), stored.partition(), stored.offset())
                .orElseThrow(() -> new IdempotencyUndecidedException(request.id()));
        if (first.ours()) {
            return accepted(request, false);
        }
        return replay(first.request(), request);
    }

    /** The same key again: the same job if the same request, a conflict if not. */
    private ResponseEntity<Map<String, Object>> replay(JobStatus earlier, JobRequest retry) {
        if (earlier.request() == null) {
            throw new IdempotencyConflictException(earlier.id());
        }
        return replay(earlier.request(), retry);
    }

    private ResponseEntity<Map<String, Object>> replay(JobRequest first, JobRequest retry) {
        if (!Objects.equals(first.fingerprint(), retry.fingerprint())) {
            throw new IdempotencyConflictException(first.id());
        }
        return accepted(first, true);
    }

    private static ResponseEntity<Map<String, Object>> accepted(JobRequest request, boolean replayed) {
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
    ResponseEntity<JobView> cancel(@PathVariable String id) {
        JobStatus status = find(id);
        if (status.state().isTerminal()) {
            throw new JobFinishedException(status.id(), status.state());
        }
        submitter.cancel(JobControl.cancel(status.id(), clock.instant()));
        return ResponseEntity.accepted()
                .cacheControl(CacheControl.noStore())
                .body(view(status));
    }

    @GetMapping(path = "/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobView> get(@PathVariable String id) {
        JobStatus status = find(id);
        return ResponseEntity.ok()
                .cacheControl(CacheControl.noStore())
                .body(view(status));
    }

    /** The job's status as server-sent events, until it ends. */
    @GetMapping(path = "/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    void events(@PathVariable String id,
            @RequestAttribute(name = ApiClient.IDENTITY, required = false) String client,
            HttpServletRequest request, HttpServletResponse response) throws IOException {
        streams.open(find(id), client == null ? ApiClient.ANONYMOUS : client, this::view, request, response);
    }

    @GetMapping(path = "/{id}/image", produces = MediaType.IMAGE_PNG_VALUE)
    ResponseEntity<byte[]> image(@PathVariable String id) {
        JobStatus status = find(id);
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

    private JobView view(JobStatus status) {
        return JobView.of(status, view.cancelRequestedAt(status.id()).orElse(null), clock.instant());
    }

    /** The job named by a path: a UUID in any case (ids are stored in lower case, as UUIDs print). */
    private JobStatus find(String path) {
        String id = path.toLowerCase(Locale.ROOT);
        if (!JOB_ID.matcher(id).matches()) {
            throw new JobNotFoundException(path);
        }
        return view.find(id).orElseThrow(() -> new JobNotFoundException(path));
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
