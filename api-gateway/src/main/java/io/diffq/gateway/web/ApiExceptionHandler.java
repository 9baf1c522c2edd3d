package io.diffq.gateway.web;

import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.jobs.IdempotencyConflictException;
import io.diffq.gateway.jobs.ImageUnavailableException;
import io.diffq.gateway.jobs.InvalidJobException;
import io.diffq.gateway.jobs.JobFinishedException;
import io.diffq.gateway.jobs.JobNotFoundException;
import io.diffq.gateway.jobs.JobRequestParser;
import io.diffq.gateway.jobs.PayloadTooLargeException;
import io.diffq.gateway.kafka.KafkaUnavailableException;
import io.diffq.gateway.queue.OverloadedException;
import java.net.URI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * Every error of the API as {@code application/problem+json} with a stable type URI. Spring MVC's own
 * errors (unknown path, wrong method or media type) come through the base class in the same form.
 * Nothing internal (class names, stack traces) reaches the client.
 */
@RestControllerAdvice
class ApiExceptionHandler extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ApiExceptionHandler.class);

    private final GatewayProperties properties;

    ApiExceptionHandler(GatewayProperties properties) {
        this.properties = properties;
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> invalid(InvalidJobException e) {
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, Problems.INVALID_REQUEST, "Invalid job request",
                e.errors().size() == 1 ? e.getMessage() : e.errors().size() + " fields are invalid; see errors");
        p.setProperty("field", e.errors().get(0).field());
        p.setProperty("errors", e.errors());
        return respond(p, HttpHeaders.EMPTY);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> tooLarge(PayloadTooLargeException e) {
        return respond(problem(HttpStatus.CONTENT_TOO_LARGE, Problems.PAYLOAD_TOO_LARGE, "Request body too large",
                e.getMessage()), HttpHeaders.EMPTY);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> notFound(JobNotFoundException e) {
        return respond(problem(HttpStatus.NOT_FOUND, Problems.JOB_NOT_FOUND, "Job not found", e.getMessage()),
                HttpHeaders.EMPTY);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> noImage(ImageUnavailableException e) {
        ProblemDetail p = e.expired()
                ? problem(HttpStatus.GONE, Problems.IMAGE_EXPIRED, "Image expired", e.getMessage())
                : problem(HttpStatus.CONFLICT, Problems.IMAGE_NOT_READY, "No image for this job", e.getMessage());
        p.setProperty("state", e.state());
        return respond(p, HttpHeaders.EMPTY);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> unavailable(KafkaUnavailableException e) {
        log.warn("answering 503: {}", e.getMessage());
        HttpHeaders headers = new HttpHeaders();
        headers.set(HttpHeaders.RETRY_AFTER, String.valueOf(Math.max(1, properties.retryAfter().toSeconds())));
        return respond(problem(HttpStatus.SERVICE_UNAVAILABLE, Problems.QUEUE_UNAVAILABLE, "Queue unavailable",
                "the job queue cannot take or give records right now; no job was created, retry later"), headers);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> idempotencyConflict(IdempotencyConflictException e) {
        ProblemDetail p = problem(HttpStatus.UNPROCESSABLE_CONTENT, Problems.IDEMPOTENCY_KEY_REUSED,
                "Idempotency-Key reused", e.getMessage());
        p.setProperty("field", JobRequestParser.IDEMPOTENCY_HEADER);
        return respond(p, HttpHeaders.EMPTY);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> finished(JobFinishedException e) {
        ProblemDetail p = problem(HttpStatus.CONFLICT, Problems.JOB_FINISHED, "Job already finished", e.getMessage());
        p.setProperty("state", e.state());
        return respond(p, HttpHeaders.EMPTY);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> overloaded(OverloadedException e) {
        HttpHeaders headers = new HttpHeaders();
        headers.set(HttpHeaders.RETRY_AFTER, String.valueOf(Math.max(1, e.retryAfter().toSeconds())));
        return respond(problem(HttpStatus.TOO_MANY_REQUESTS, Problems.QUEUE_FULL, "Queue full",
                e.getMessage() + "; no job was created, retry later"), headers);
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> unexpected(Exception e) {
        log.error("unexpected error", e);
        return respond(problem(HttpStatus.INTERNAL_SERVER_ERROR, Problems.INTERNAL, "Internal error",
                "an unexpected error occurred"), HttpHeaders.EMPTY);
    }

    /**
     * Spring MVC's own errors (unknown path, wrong method, media type, unacceptable Accept): a stable type
     * and always problem+json — a preset content type also answers a client whose Accept cannot be parsed.
     */
    @Override
    protected ResponseEntity<Object> createResponseEntity(Object body, HttpHeaders headers, HttpStatusCode status,
            WebRequest request) {
        if (body instanceof ProblemDetail p && p.getType() == null) {
            p.setType(URI.create(Problems.HTTP + status.value()));
        }
        HttpHeaders h = new HttpHeaders();
        h.putAll(headers);
        h.setContentType(MediaType.APPLICATION_PROBLEM_JSON);
        return new ResponseEntity<>(body, h, status);
    }

    private static ProblemDetail problem(HttpStatus status, URI type, String title, String detail) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setType(type);
        p.setTitle(title);
        return p;
    }

    private static ResponseEntity<ProblemDetail> respond(ProblemDetail p, HttpHeaders headers) {
        return ResponseEntity.status(p.getStatus())
                .headers(headers)
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(p);
    }
}
