package io.diffq.gateway.security;

import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.web.ProblemWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.servlet.filter.OrderedFilter;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Registers {@link ApiKeyFilter} on the API's servlet context. A {@link FilterRegistrationBean} in this
 * (the main) context is applied to the main server only: the management server runs in a child context
 * with its own servlet context, so health and metrics stay reachable without a key.
 */
@Configuration(proxyBeanMethods = false)
class SecurityConfiguration {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfiguration.class);

    /** Where Spring Security would sit: after the observation filter, so 401 and 429 are counted too. */
    static final int ORDER = OrderedFilter.REQUEST_WRAPPER_FILTER_MAX_ORDER - 100;

    @Bean
    FilterRegistrationBean<ApiKeyFilter> apiKeyFilter(SecurityProperties properties, GatewayProperties gateway,
            ProblemWriter problems) {
        ApiKeys keys = new ApiKeys(properties.apiKeys());
        if (keys.required() && !gateway.hasJobIdSecret()) {
            throw new IllegalStateException("diffq.gateway.job-id-secret (or job-id-secret-file) must be set when "
                    + "API keys are configured: idempotent job ids are an HMAC under it, so that no client can "
                    + "compute another's, and every gateway instance needs the same one");
        }
        SecurityProperties.RateLimit limit = properties.rateLimit();
        if (keys.required()) {
            log.info("API keys required on /v1: {} configured ({})", keys.size(), String.join(", ", keys.names()));
        } else {
            log.warn("No API key configured (diffq.gateway.security.api-keys): the API on /v1 is OPEN to anyone "
                    + "who can reach this port. Fine for local development only; configure keys anywhere else.");
        }
        RateLimiter limiter = null;
        RateLimiter failures = null;
        if (limit.enabled()) {
            limiter = new RateLimiter(limit.requestsPerSecond(), limit.burst(), limit.maxClients(), System::nanoTime);
            failures = new RateLimiter(limit.failedAuthPerSecond(), limit.failedAuthBurst(), limit.maxClients(),
                    System::nanoTime);
            log.info("Rate limit on /v1: {} requests/s, burst {}, per {}", limit.requestsPerSecond(), limit.burst(),
                    keys.required() ? "API key" : "client address");
        } else {
            log.warn("Rate limit on /v1 disabled (diffq.gateway.security.rate-limit.enabled=false)");
        }
        FilterRegistrationBean<ApiKeyFilter> registration = new FilterRegistrationBean<>(
                new ApiKeyFilter(keys, limiter, failures, problems));
        registration.setName("diffqApiKeyFilter");
        registration.setOrder(ORDER);
        registration.addUrlPatterns("/*");
        return registration;
    }
}
