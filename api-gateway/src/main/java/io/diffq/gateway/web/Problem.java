package io.diffq.gateway.web;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;

/**
 * One error answer of the API: an RFC 9457 problem detail (type, title, status, detail, instance and extra
 * members such as {@code field} or {@code errors}) with the headers that go with it ({@code Retry-After},
 * {@code WWW-Authenticate}, {@code Allow}). A controller advice returns it as {@link #toResponseEntity()}; a
 * filter or an error page, where no advice runs, hands it to {@link ProblemWriter}. Built for one answer and
 * then dropped: it is not thread-safe.
 */
public final class Problem {

    private final ProblemDetail body;
    private final HttpHeaders headers = new HttpHeaders();

    private Problem(ProblemDetail body) {
        this.body = body;
    }

    /** A problem of a stable {@code type} with a fixed {@code title} and a {@code detail} for this case. */
    public static Problem of(HttpStatusCode status, URI type, String title, String detail) {
        ProblemDetail body = ProblemDetail.forStatusAndDetail(status, detail);
        body.setType(type);
        body.setTitle(title);
        return new Problem(body);
    }

    /** Adds an extra member to the body. */
    public Problem with(String name, Object value) {
        body.setProperty(name, value);
        return this;
    }

    /** The request's path as the problem's {@code instance}; left out when {@code null} or no URI reference. */
    public Problem instance(String path) {
        try {
            body.setInstance(path == null ? null : new URI(path));
        } catch (URISyntaxException e) {
            body.setInstance(null);
        }
        return this;
    }

    /** Sets a header of the answer. */
    public Problem header(String name, String value) {
        headers.set(name, value);
        return this;
    }

    /** {@code Retry-After} in whole seconds, at least 1. */
    public Problem retryAfter(Duration wait) {
        return header(HttpHeaders.RETRY_AFTER, String.valueOf(Math.max(1, wait.toSeconds())));
    }

    /** The problem as a controller advice answers it, always as {@code application/problem+json}. */
    public ResponseEntity<ProblemDetail> toResponseEntity() {
        return ResponseEntity.status(body.getStatus())
                .headers(headers)
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(body);
    }

    ProblemDetail body() {
        return body;
    }

    HttpHeaders headers() {
        return HttpHeaders.readOnlyHttpHeaders(headers);
    }
}
