package io.diffq.gateway.web;

import java.net.URI;

/** The stable {@code type} URIs of the API's problem details (RFC 9457). */
public final class Problems {

    public static final URI INVALID_REQUEST = uri("invalid-request");
    public static final URI PAYLOAD_TOO_LARGE = uri("payload-too-large");
    public static final URI JOB_NOT_FOUND = uri("job-not-found");
    public static final URI IMAGE_NOT_READY = uri("image-not-ready");
    public static final URI IMAGE_EXPIRED = uri("image-expired");
    public static final URI QUEUE_UNAVAILABLE = uri("queue-unavailable");
    public static final URI QUEUE_FULL = uri("queue-full");
    /** The client's key has as many jobs waiting as it may ({@code max-waiting}): {@code 429} with {@code Retry-After}. */
    public static final URI QUOTA_EXCEEDED = uri("quota-exceeded");
    /** The job asked for a priority above its key's {@code max-priority}: {@code 403}. */
    public static final URI PRIORITY_NOT_ALLOWED = uri("priority-not-allowed");
    public static final URI JOB_FINISHED = uri("job-finished");
    public static final URI IDEMPOTENCY_KEY_REUSED = uri("idempotency-key-reused");
    public static final URI INTERNAL = uri("internal-error");
    /** No valid API key: {@code 401} with {@code WWW-Authenticate: Bearer}. */
    public static final URI UNAUTHORIZED = uri("unauthorized");
    /** The client's rate limit is exhausted: {@code 429} with {@code Retry-After}. */
    public static final URI RATE_LIMITED = uri("rate-limited");
    /** The client holds as many open event streams as it may, or the gateway does: {@code 429}. */
    public static final URI TOO_MANY_STREAMS = uri("too-many-streams");
    /** A request the server cannot read as HTTP (bad request line, header or URI encoding). */
    public static final URI BAD_REQUEST = uri("bad-request");

    /** Prefix of the types of plain HTTP errors (unknown path, wrong method, …), followed by the status. */
    public static final String HTTP = "https://diffq.io/problems/http-";

    private Problems() {
    }

    /** The type of a plain HTTP error of {@code status}. */
    static URI http(int status) {
        return URI.create(HTTP + status);
    }

    private static URI uri(String name) {
        return URI.create("https://diffq.io/problems/" + name);
    }
}
