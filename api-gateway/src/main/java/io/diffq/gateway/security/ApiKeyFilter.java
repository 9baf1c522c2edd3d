package io.diffq.gateway.security;

import io.diffq.gateway.ApiClient;
import io.diffq.gateway.web.Problem;
import io.diffq.gateway.web.ProblemWriter;
import io.diffq.gateway.web.Problems;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Guards {@code /v1}: a valid {@code Authorization: Bearer <key>} when keys are configured (else {@code 401}),
 * then a token from the caller's bucket (else {@code 429} with {@code Retry-After}). Registered on the API's
 * port only; the management port (health, metrics) has its own server and never sees this filter.
 */
public final class ApiKeyFilter extends OncePerRequestFilter {

    static final String CHALLENGE = "Bearer realm=\"diffq\"";

    private static final String BEARER = "bearer";

    private final ApiKeys keys;
    private final RateLimiter limiter;
    private final RateLimiter failures;
    private final ProblemWriter problems;

    /**
     * @param limiter  {@code null} when requests are not rate-limited
     * @param failures failed authentications per client address; {@code null} when not limited
     */
    ApiKeyFilter(ApiKeys keys, RateLimiter limiter, RateLimiter failures, ProblemWriter problems) {
        this.keys = keys;
        this.limiter = limiter;
        this.failures = failures;
        this.problems = problems;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return !isApi(request);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String address = "ip:" + clientAddress(request.getRemoteAddr());
        String client;
        if (keys.required()) {
            Optional<String> name = keys.authenticate(bearerToken(request));
            if (name.isEmpty()) {
                if (failures != null && tooManyRequests(failures, address, request, response,
                        "too many failed authentications from this address")) {
                    return;
                }
                problems.write(request, response, Problem.of(HttpStatus.UNAUTHORIZED, Problems.UNAUTHORIZED,
                                "Unauthorized", "a valid API key is required: send it as 'Authorization: Bearer <key>'")
                        .instance(request.getRequestURI())
                        .header(HttpHeaders.WWW_AUTHENTICATE, CHALLENGE));
                return;
            }
            request.setAttribute(ApiClient.ATTRIBUTE, name.get());
            if (keys.admin(name.get())) {
                request.setAttribute(ApiClient.ADMIN, Boolean.TRUE);
            }
            int maxWaiting = keys.maxWaiting(name.get());
            if (maxWaiting > 0) {
                request.setAttribute(ApiClient.MAX_WAITING, maxWaiting);
            }
            request.setAttribute(ApiClient.MAX_PRIORITY, keys.maxPriority(name.get()));
            client = "key:" + name.get();
        } else {
            client = address;
        }
        request.setAttribute(ApiClient.IDENTITY, client);
        if (limiter != null && tooManyRequests(limiter, client, request, response,
                "the rate limit of this client is exhausted")) {
            return;
        }
        chain.doFilter(request, response);
    }

    /** Takes a token of {@code client}'s bucket in {@code bucket}; when there is none, answers {@code 429}. */
    private boolean tooManyRequests(RateLimiter bucket, String client, HttpServletRequest request,
            HttpServletResponse response, String why) throws IOException {
        long retryAfter = bucket.acquire(client);
        if (retryAfter <= 0) {
            return false;
        }
        problems.write(request, response, Problem.of(HttpStatus.TOO_MANY_REQUESTS, Problems.RATE_LIMITED,
                        "Too many requests", why + "; retry after " + retryAfter + " s")
                .instance(request.getRequestURI())
                .retryAfter(Duration.ofSeconds(retryAfter)));
        return true;
    }

    /**
     * Whether the request is for the API. Both the container's decoded, normalised path (what the servlet
     * mapping uses: {@code //}, {@code ;params}, {@code %76} resolved) and the raw URI are checked, so that no
     * spelling of a {@code /v1} path slips past.
     */
    static boolean isApi(HttpServletRequest request) {
        String servletPath = request.getServletPath();
        String pathInfo = request.getPathInfo();
        String path = (servletPath == null ? "" : servletPath) + (pathInfo == null ? "" : pathInfo);
        String uri = request.getRequestURI();
        String context = request.getContextPath();
        if (uri != null && context != null && uri.startsWith(context)) {
            uri = uri.substring(context.length());
        }
        return underV1(path) || underV1(uri);
    }

    private static boolean underV1(String path) {
        if (path == null) {
            return false;
        }
        int i = 0;
        while (i < path.length() && path.charAt(i) == '/') {
            i++;
        }
        return i > 0 && path.regionMatches(true, i, "v1", 0, 2);
    }

    /** The token of the one {@code Authorization: Bearer} header, or {@code null} when there is not exactly that. */
    static String bearerToken(HttpServletRequest request) {
        List<String> headers = Collections.list(request.getHeaders(HttpHeaders.AUTHORIZATION));
        if (headers.size() != 1) {
            return null;
        }
        String value = headers.get(0).strip();
        if (value.length() <= BEARER.length() + 1
                || !value.regionMatches(true, 0, BEARER, 0, BEARER.length())
                || (value.charAt(BEARER.length()) != ' ' && value.charAt(BEARER.length()) != '\t')) {
            return null;
        }
        String token = value.substring(BEARER.length() + 1).strip();
        return token.isEmpty() || token.chars().anyMatch(c -> c <= ' ' || c > '~') ? null : token;
    }

    /** The client's address; IPv6 clients by their /64 network, as one host usually holds all of it. */
    static String clientAddress(String remoteAddr) {
        if (remoteAddr == null || remoteAddr.indexOf(':') < 0) {
            return remoteAddr;
        }
        try {
            // An IPv6 literal: parsed without any name lookup.
            InetAddress address = InetAddress.getByName(remoteAddr);
            if (address instanceof Inet6Address) {
                byte[] b = address.getAddress();
                return String.format(Locale.ROOT, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64",
                        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
            }
            return address.getHostAddress();
        } catch (UnknownHostException e) {
            return remoteAddr;
        }
    }
}
