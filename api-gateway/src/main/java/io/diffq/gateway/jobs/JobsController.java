package io.diffq.gateway.jobs;

import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.status.JobStatusView;
import io.diffq.gateway.status.ResultReader;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Clock;
import java.util.Map;
import java.util.regex.Pattern;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** The jobs API: submit, poll, fetch the image. */
@RestController
@RequestMapping("/v1/jobs")
class JobsController {

    private static final Pattern JOB_ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private final JobRequestParser parser;
    private final JobSubmitter submitter;
    private final JobStatusView view;
    private final ResultReader results;
    private final GatewayProperties properties;
    private final Clock clock;

    JobsController(JobRequestParser parser, JobSubmitter submitter, JobStatusView view, ResultReader results,
            GatewayProperties properties, Clock clock) {
        this.parser = parser;
        this.submitter = submitter;
        this.view = view;
        this.results = results;
        this.properties = properties;
        this.clock = clock;
    }

    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE, produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<Map<String, Object>> submit(InputStream body,
            @RequestHeader(name = "Content-Length", required = false) Long contentLength) throws IOException {
        JobRequest request;
        try {
            request = parser.parse(readBounded(body, contentLength));
        } catch (InvalidJobException | PayloadTooLargeException e) {
            submitter.count("invalid");
            throw e;
        }
        submitter.submit(request);
        URI location = URI.create("/v1/jobs/" + request.id());
        return ResponseEntity.accepted()
                .location(location)
                .body(Map.of(
                        "id", request.id(),
                        "state", JobState.QUEUED,
                        "createdAt", request.createdAt(),
                        "links", Map.of("self", location.toString())));
    }

    @GetMapping(path = "/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<JobView> get(@PathVariable String id) {
        JobStatus status = find(id);
        return ResponseEntity.ok()
                .cacheControl(CacheControl.noStore())
                .body(JobView.of(status, clock.instant()));
    }

    @GetMapping(path = "/{id}/image", produces = MediaType.IMAGE_PNG_VALUE)
    ResponseEntity<byte[]> image(@PathVariable String id) {
        JobStatus status = find(id);
        if (status.state() != JobState.SUCCEEDED || status.result() == null) {
            throw new ImageUnavailableException(id, status.state(), false);
        }
        byte[] png = results.read(id, status.result())
                .orElseThrow(() -> new ImageUnavailableException(id, status.state(), true));
        return ResponseEntity.ok()
                .contentType(MediaType.IMAGE_PNG)
                .cacheControl(CacheControl.maxAge(properties.statusRetention()).cachePrivate().immutable())
                .body(png);
    }

    private JobStatus find(String id) {
        if (!JOB_ID.matcher(id).matches()) {
            throw new JobNotFoundException(id);
        }
        return view.find(id).orElseThrow(() -> new JobNotFoundException(id));
    }

    private byte[] readBounded(InputStream body, Long contentLength) throws IOException {
        long limit = properties.maxBodySize().toBytes();
        if (contentLength != null && contentLength > limit) {
            throw new PayloadTooLargeException(limit);
        }
        byte[] bytes = body.readNBytes((int) limit + 1);
        if (bytes.length > limit) {
            throw new PayloadTooLargeException(limit);
        }
        return bytes;
    }
}
