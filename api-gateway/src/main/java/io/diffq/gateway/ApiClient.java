package io.diffq.gateway;

/**
 * Who sent a request to the API. The API-key filter stores the name of the key that authenticated it as the
 * request attribute {@link #ATTRIBUTE} (and rate-limits per name); the controllers read it from there. It lives
 * here, below the feature packages, so that the filter and the controllers share it without importing each
 * other.
 */
public final class ApiClient {

    /** The request attribute holding the name of the API key that authenticated the request; absent when open. */
    public static final String ATTRIBUTE = "diffq.apiKey";

    /**
     * The request attribute naming the client for per-client limits: {@code key:<name>} when API keys are
     * configured, {@code ip:<address>} (an IPv6 client by its /64) when the API is open.
     */
    public static final String IDENTITY = "diffq.client";

    /**
     * The request attribute set to {@code Boolean.TRUE} when the key that authenticated the request has the
     * {@code admin} role: it sees every client's jobs. Absent otherwise.
     */
    public static final String ADMIN = "diffq.admin";

    /**
     * The request attribute holding the most jobs the key that authenticated the request may have waiting (an
     * {@code Integer}); absent when it has no limit or the API is open.
     */
    public static final String MAX_WAITING = "diffq.maxWaiting";

    /**
     * The request attribute holding the most urgent {@link io.diffq.common.job.Priority} the key that authenticated
     * the request may ask for; absent when the API is open (every priority allowed).
     */
    public static final String MAX_PRIORITY = "diffq.maxPriority";

    /** The client of a gateway without API keys. */
    public static final String ANONYMOUS = "anonymous";

    private ApiClient() {
    }
}
