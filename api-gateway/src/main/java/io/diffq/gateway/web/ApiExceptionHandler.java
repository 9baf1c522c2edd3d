package io.diffq.gateway.web;

import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.jobs.IdempotencyConflictException;
import io.diffq.gateway.jobs.IdempotencyUndecidedException;
import io.diffq.gateway.jobs.ImageUnavailableException;
import io.diffq.gateway.jobs.InvalidJobException;
import io.diffq.gateway.jobs.JobFinishedException;
import io.diffq.gateway.jobs.JobNotFoundException;
import io.diffq.gateway.jobs.JobRequestParser;
import io.diffq.gateway.jobs.PayloadTooLargeException;
import io.diffq.gateway.jobs.PriorityNotAllowedException;
import io.diffq.gateway.jobs.TooManyStreamsException;
import io.diffq.gateway.kafka.KafkaUnavailableException;
import io.diffq.gateway.queue.OverloadedException;
import io.diffq.gateway.queue.QuotaExceededException;
import io.diffq.gateway.status.StatusUnavailableException;
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
        return Problem.of(HttpStatus.BAD_REQUEST, Problems.INVALID_REQUEST, "Invalid job request",
                        e.errors().size() == 1 ? e.getMessage() : e.errors().size() + " fields are invalid; see errors")
                .with("field", e.errors().get(0).field())
                .with("errors", e.errors())
                .toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> tooLarge(PayloadTooLargeException e) {
        return Problem.of(HttpStatus.CONTENT_TOO_LARGE, Problems.PAYLOAD_TOO_LARGE, "Request body too large",
                e.getMessage()).toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> notFound(JobNotFoundException e) {
        return Problem.of(HttpStatus.NOT_FOUND, Problems.JOB_NOT_FOUND, "Job not found", e.getMessage())
                .toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> noImage(ImageUnavailableException e) {
        Problem p = e.expired()
                ? Problem.of(HttpStatus.GONE, Problems.IMAGE_EXPIRED, "Image expired", e.getMessage())
                : Problem.of(HttpStatus.CONFLICT, Problems.IMAGE_NOT_READY, "No image for this job", e.getMessage());
        return p.with("state", e.state()).toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> unavailable(KafkaUnavailableException e) {
        log.warn("answering 503: {}", e.getMessage());
        return Problem.of(HttpStatus.SERVICE_UNAVAILABLE, Problems.QUEUE_UNAVAILABLE, "Queue unavailable",
                        "the job queue cannot take or give records right now; no job was created, retry later")
                .retryAfter(properties.retryAfter())
                .toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> idempotencyConflict(IdempotencyConflictException e) {
        return Problem.of(HttpStatus.UNPROCESSABLE_CONTENT, Problems.IDEMPOTENCY_KEY_REUSED, "Idempotency-Key reused",
                        e.getMessage())
                .with("field", JobRequestParser.IDEMPOTENCY_HEADER)
                .toResponseEntity();
    }

    /** The topics could not be read in time to answer: whether a job exists, or which request is the job. */
    @ExceptionHandler({IdempotencyUndecidedException.class, StatusUnavailableException.class})
    ResponseEntity<ProblemDetail> cannotTell(RuntimeException e) {
        log.warn("answering 503: {}", e.getMessage());
        return Problem.of(HttpStatus.SERVICE_UNAVAILABLE, Problems.QUEUE_UNAVAILABLE, "Queue unavailable",
                        e.getMessage())
                .retryAfter(properties.retryAfter())
                .toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> finished(JobFinishedException e) {
        return Problem.of(HttpStatus.CONFLICT, Problems.JOB_FINISHED, "Job already finished", e.getMessage())
                .with("state", e.state())
                .toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> priorityNotAllowed(PriorityNotAllowedException e) {
        return Problem.of(HttpStatus.FORBIDDEN, Problems.PRIORITY_NOT_ALLOWED, "Priority not allowed",
                        e.getMessage() + "; no job was created")
                .with("field", "priority")
                .with("maxPriority", e.maxPriority().apiName())
                .toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> quotaExceeded(QuotaExceededException e) {
        return Problem.of(HttpStatus.TOO_MANY_REQUESTS, Problems.QUOTA_EXCEEDED, "Quota exceeded",
                        e.getMessage() + "; no job was created, retry once some of them have started")
                .with("field", "max-waiting")
                .retryAfter(e.retryAfter())
                .toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> overloaded(OverloadedException e) {
        return Problem.of(HttpStatus.TOO_MANY_REQUESTS, Problems.QUEUE_FULL, "Queue full",
                        e.getMessage() + "; no job was created, retry later")
                .retryAfter(e.retryAfter())
                .toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> tooManyStreams(TooManyStreamsException e) {
        return Problem.of(HttpStatus.TOO_MANY_REQUESTS, Problems.TOO_MANY_STREAMS, "Too many event streams",
                        e.getMessage())
                .retryAfter(e.retryAfter())
                .toResponseEntity();
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> unexpected(Exception e) {
        log.error("unexpected error", e);
        return Problem.of(HttpStatus.INTERNAL_SERVER_ERROR, Problems.INTERNAL, "Internal error",
                "an unexpected error occurred").toResponseEntity();
    }

    /**
     * Spring MVC's own errors (unknown path, wrong method, media type, unacceptable Accept): a stable type
     * and always problem+json — a preset content type also answers a client whose Accept cannot be parsed.
     */
    @Override
    protected ResponseEntity<Object> createResponseEntity(Object body, HttpHeaders headers, HttpStatusCode status,
            WebRequest request) {
        if (body instanceof ProblemDetail p && p.getType() == null) {
            p.setType(Problems.http(status.value()));
        }
        HttpHeaders h = new HttpHeaders();
        h.putAll(headers);
        h.setContentType(MediaType.APPLICATION_PROBLEM_JSON);
        return new ResponseEntity<>(body, h, status);
    }
}
