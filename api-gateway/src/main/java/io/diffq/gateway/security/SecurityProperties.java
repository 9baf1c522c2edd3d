package io.diffq.gateway.security;

import io.diffq.common.job.Priority;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.ConstructorBinding;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Who may call the API and how often, under {@code diffq.gateway.security}.
 *
 * @param apiKeys   the keys accepted as {@code Authorization: Bearer <key>}; none means the API is open
 * @param rateLimit the per-client token bucket
 */
@ConfigurationProperties("diffq.gateway.security")
public record SecurityProperties(
        @DefaultValue List<ApiKey> apiKeys,
        @DefaultValue RateLimit rateLimit) {

    public SecurityProperties {
        apiKeys = List.copyOf(apiKeys);
        Set<String> names = new HashSet<>();
        for (int i = 0; i < apiKeys.size(); i++) {
            if (!names.add(apiKeys.get(i).name())) {
                throw new IllegalArgumentException("diffq.gateway.security.api-keys[" + i + "].name '"
                        + apiKeys.get(i).name() + "' is used twice; names must be unique");
            }
        }
    }

    /**
     * One client's key. Give either {@code key-sha256} (the lower- or upper-case hex SHA-256 of the key, so
     * that configuration holds no secret) or {@code key} (the key itself), not both.
     *
     * @param name      who the key belongs to: shown in logs and rate-limited on its own; never secret
     * @param key       the key itself, at least 16 printable ASCII characters
     * @param keySha256 the key's SHA-256 digest as 64 hex digits
     * @param role      {@code user} (the default): sees and cancels only the jobs it submitted; {@code admin}:
     *                  sees, lists and cancels every job
     * @param maxWaiting most jobs of this key accepted and not yet started (1,000 when unset; 0: no limit);
     *                  past it a submit gets {@code 429} {@code quota-exceeded}, so one key cannot bury the others
     *                  under its backlog. A soft limit: gateways see each other's submits once their views have
     *                  read them, so several gateways may together let in a few more (the submits in flight)
     * @param maxPriority the most urgent {@code priority} this key's jobs may ask for ({@code normal} when unset);
     *                  asking for more gets {@code 403} {@code priority-not-allowed}
     */
    public record ApiKey(String name, String key, String keySha256, String role, Integer maxWaiting,
            Priority maxPriority) {

        /** The role of a key that sees only its own jobs. */
        public static final String USER = "user";
        /** The role of a key that sees every job. */
        public static final String ADMIN = "admin";

        static final int MIN_KEY_LENGTH = 16;
        /** The jobs a key may have waiting when its configuration does not say. */
        public static final int DEFAULT_MAX_WAITING = 1000;

        private static final Pattern HEX_SHA256 = Pattern.compile("[0-9a-fA-F]{64}");
        private static final Pattern TOKEN = Pattern.compile("[\\x21-\\x7e]+");

        @ConstructorBinding
        public ApiKey {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("every diffq.gateway.security.api-keys entry needs a name");
            }
            if ((key == null) == (keySha256 == null)) {
                throw new IllegalArgumentException("api key '" + name + "': give exactly one of key or key-sha256");
            }
            if (key != null && (key.length() < MIN_KEY_LENGTH || !TOKEN.matcher(key).matches())) {
                throw new IllegalArgumentException("api key '" + name + "': a key must be at least " + MIN_KEY_LENGTH
                        + " printable ASCII characters without spaces");
            }
            if (keySha256 != null && !HEX_SHA256.matcher(keySha256).matches()) {
                throw new IllegalArgumentException("api key '" + name + "': key-sha256 must be 64 hex digits");
            }
            if (role == null || role.isBlank()) {
                role = USER;
            }
            if (!role.equals(USER) && !role.equals(ADMIN)) {
                throw new IllegalArgumentException("api key '" + name + "': role must be " + USER + " or " + ADMIN);
            }
            if (maxWaiting == null) {
                maxWaiting = DEFAULT_MAX_WAITING;
            }
            if (maxWaiting < 0) {
                throw new IllegalArgumentException("api key '" + name + "': max-waiting must be 0 (no limit) or more, not "
                        + maxWaiting);
            }
            if (maxPriority == null) {
                maxPriority = Priority.NORMAL;
            }
        }

        /** A key of the {@code user} role. */
        public ApiKey(String name, String key, String keySha256) {
            this(name, key, keySha256, USER);
        }

        /** A key with the default {@code max-waiting} and {@code max-priority}. */
        public ApiKey(String name, String key, String keySha256, String role) {
            this(name, key, keySha256, role, null, null);
        }

        /** A key with the default {@code max-priority}. */
        public ApiKey(String name, String key, String keySha256, String role, Integer maxWaiting) {
            this(name, key, keySha256, role, maxWaiting, null);
        }

        boolean admin() {
            return ADMIN.equals(role);
        }
    }

    /**
     * A token bucket per API key (per client address while the API is open) on every {@code /v1} request.
     *
     * @param enabled           whether requests are limited at all
     * @param requestsPerSecond the sustained rate: tokens added per second
     * @param burst             the bucket's size: requests allowed at once after a quiet spell
     * @param maxClients        most buckets kept; idle ones are dropped first, clients beyond share one bucket
     * @param failedAuthPerSecond failed authentications (a missing or wrong key) allowed per client address per
     *                          second, sustained; beyond, {@code 429} instead of {@code 401}, so keys cannot be
     *                          guessed at speed
     * @param failedAuthBurst   failed authentications allowed at once per client address
     */
    public record RateLimit(
            @DefaultValue("true") boolean enabled,
            @DefaultValue("20") double requestsPerSecond,
            @DefaultValue("40") int burst,
            @DefaultValue("10000") int maxClients,
            @DefaultValue("1") double failedAuthPerSecond,
            @DefaultValue("20") int failedAuthBurst) {

        public RateLimit {
            if (enabled && !(requestsPerSecond > 0 && Double.isFinite(requestsPerSecond))) {
                throw new IllegalArgumentException("diffq.gateway.security.rate-limit.requests-per-second must be > 0");
            }
            if (enabled && burst < 1) {
                throw new IllegalArgumentException("diffq.gateway.security.rate-limit.burst must be at least 1");
            }
            if (enabled && !(failedAuthPerSecond > 0 && Double.isFinite(failedAuthPerSecond) && failedAuthBurst >= 1)) {
                throw new IllegalArgumentException("diffq.gateway.security.rate-limit.failed-auth-per-second must be "
                        + "> 0 and failed-auth-burst at least 1");
            }
            if (enabled && maxClients < 1) {
                throw new IllegalArgumentException("diffq.gateway.security.rate-limit.max-clients must be at least 1");
            }
        }
    }
}
