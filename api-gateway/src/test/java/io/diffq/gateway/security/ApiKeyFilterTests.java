package io.diffq.gateway.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.gateway.ApiClient;
import io.diffq.gateway.security.SecurityProperties.ApiKey;
import io.diffq.gateway.web.ProblemWriter;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.mock.web.MockFilterChain;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ApiKeyFilterTests {

    private static final String KEY = "k-0123456789abcdef";

    private final JsonMapper json = JsonMapper.builder().build();
    private final ApiKeys keys = new ApiKeys(List.of(new ApiKey("ci", KEY, null)));

    @Test
    void aValidKeyPassesWithItsNameAsARequestAttribute() throws Exception {
        MockHttpServletRequest request = api("/v1/jobs");
        request.addHeader("Authorization", "Bearer " + KEY);
        MockHttpServletResponse response = new MockHttpServletResponse();
        MockFilterChain chain = new MockFilterChain();

        filter(null).doFilter(request, response, chain);

        assertThat(chain.getRequest()).isSameAs(request);
        assertThat(request.getAttribute(ApiClient.ATTRIBUTE)).isEqualTo("ci");
    }

    @Test
    void aMissingKeyIsAProblemWrittenByTheFilter() throws Exception {
        MockHttpServletResponse response = new MockHttpServletResponse();
        MockFilterChain chain = new MockFilterChain();

        filter(null).doFilter(api("/v1/jobs/x"), response, chain);

        assertThat(chain.getRequest()).isNull();
        assertThat(response.getStatus()).isEqualTo(401);
        assertThat(response.getContentType()).isEqualTo("application/problem+json");
        assertThat(response.getHeader("WWW-Authenticate")).isEqualTo("Bearer realm=\"diffq\"");
        JsonNode p = json.readTree(response.getContentAsByteArray());
        assertThat(p.get("type").asString()).isEqualTo("https://diffq.io/problems/unauthorized");
        assertThat(p.get("title").asString()).isEqualTo("Unauthorized");
        assertThat(p.get("status").asInt()).isEqualTo(401);
        assertThat(p.get("instance").asString()).isEqualTo("/v1/jobs/x");
        assertThat(p.get("detail").asString()).contains("Bearer");
    }

    @Test
    void overTheLimitIsA429WithRetryAfter() throws Exception {
        long[] now = {0};
        ApiKeyFilter filter = filter(new RateLimiter(0.1, 1, 10, () -> now[0]));
        MockHttpServletRequest first = api("/v1/jobs");
        first.addHeader("Authorization", "Bearer " + KEY);
        filter.doFilter(first, new MockHttpServletResponse(), new MockFilterChain());

        MockHttpServletRequest second = api("/v1/jobs");
        second.addHeader("Authorization", "Bearer " + KEY);
        MockHttpServletResponse response = new MockHttpServletResponse();
        filter.doFilter(second, response, new MockFilterChain());

        assertThat(response.getStatus()).isEqualTo(429);
        assertThat(response.getHeader("Retry-After")).isEqualTo("10");
        assertThat(json.readTree(response.getContentAsByteArray()).get("type").asString())
                .isEqualTo("https://diffq.io/problems/rate-limited");
    }

    @Test
    @Tag("abuse")
    void failedAuthenticationsFromOneAddressAreRateLimitedAndValidKeysAreNot() throws Exception {
        long[] now = {0};
        ApiKeyFilter filter = filter(null, new RateLimiter(1, 2, 10, () -> now[0]));
        int[] statuses = new int[3];
        for (int i = 0; i < 3; i++) {
            MockHttpServletRequest guess = api("/v1/jobs");
            guess.addHeader("Authorization", "Bearer guess-" + i + "-aaaaaaaaaaaaaaaa");
            MockHttpServletResponse response = new MockHttpServletResponse();
            filter.doFilter(guess, response, new MockFilterChain());
            statuses[i] = response.getStatus();
        }
        assertThat(statuses).containsExactly(401, 401, 429);
        // The owner of a valid key, from the same address, is not held back by the guesses.
        MockHttpServletRequest valid = api("/v1/jobs");
        valid.addHeader("Authorization", "Bearer " + KEY);
        MockFilterChain chain = new MockFilterChain();
        filter.doFilter(valid, new MockHttpServletResponse(), chain);
        assertThat(chain.getRequest()).isNotNull();
        // A second later one more guess is answered 401 again.
        now[0] += 1_000_000_000L;
        MockHttpServletRequest later = api("/v1/jobs");
        MockHttpServletResponse response = new MockHttpServletResponse();
        filter.doFilter(later, response, new MockFilterChain());
        assertThat(response.getStatus()).isEqualTo(401);
    }

    @Test
    void pathsOutsideTheApiAreNotGuarded() throws Exception {
        for (String path : new String[] {"/", "/error", "/actuator/health", "/index.html", "/v2/jobs"}) {
            MockHttpServletResponse response = new MockHttpServletResponse();
            MockFilterChain chain = new MockFilterChain();
            filter(null).doFilter(api(path), response, chain);
            assertThat(chain.getRequest()).as(path).isNotNull();
        }
    }

    @ParameterizedTest(name = "servlet path {0}, raw URI {1}")
    @CsvSource(textBlock = """
            /v1/jobs,      /v1/jobs
            /v1,           /v1
            /v1/jobs,      //v1//jobs
            /v1/jobs,      /%76%31/jobs
            /v1/jobs,      /v1;x=y/jobs
            /v1/jobs,      /x/../v1/jobs
            /V1/jobs,      /V1/jobs
            """)
    void everySpellingOfAnApiPathIsGuarded(String servletPath, String uri) {
        MockHttpServletRequest request = new MockHttpServletRequest("GET", uri);
        request.setServletPath(servletPath);

        assertThat(ApiKeyFilter.isApi(request)).isTrue();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            Bearer k-0123456789abcdef      | k-0123456789abcdef
            bearer k-0123456789abcdef      | k-0123456789abcdef
            BEARER    k-0123456789abcdef   | k-0123456789abcdef
            Bearer                         |
            Bearer k-0123 456789abcdef     |
            Basic k-0123456789abcdef       |
            Bearerk-0123456789abcdef       |
            k-0123456789abcdef             |
            """)
    void theBearerTokenIsParsedStrictly(String header, String token) {
        MockHttpServletRequest request = api("/v1/jobs");
        request.addHeader("Authorization", header);

        assertThat(ApiKeyFilter.bearerToken(request)).isEqualTo(token);
    }

    @Test
    void ipv6ClientsAreLimitedByTheirSlash64() {
        assertThat(ApiKeyFilter.clientAddress("2001:db8:1:2:aaaa:bbbb:cccc:dddd"))
                .isEqualTo(ApiKeyFilter.clientAddress("2001:db8:1:2::1"))
                .isEqualTo("2001:0db8:0001:0002::/64");
        assertThat(ApiKeyFilter.clientAddress("2001:db8:1:3::1")).isNotEqualTo(ApiKeyFilter.clientAddress("2001:db8:1:2::1"));
        assertThat(ApiKeyFilter.clientAddress("::ffff:10.1.2.3")).isEqualTo("10.1.2.3");
        assertThat(ApiKeyFilter.clientAddress("10.1.2.3")).isEqualTo("10.1.2.3");
    }

    @Test
    void keysAreComparedByDigestAndBadConfigurationFailsAtStartUp() {
        ApiKeys both = new ApiKeys(List.of(new ApiKey("plain", KEY, null),
                new ApiKey("digest", null, "1AB59C9290FECFE858A1675030CDCCD209FADFAD99CE4ADC359E9939B8C459A4")));
        assertThat(both.authenticate(KEY)).hasValue("plain");
        assertThat(both.authenticate(ApiKeyIntegrationTests.ALICE_KEY)).hasValue("digest");
        assertThat(both.authenticate("1ab59c9290fecfe858a1675030cdccd209fadfad99ce4adc359e9939b8c459a4")).isEmpty();
        assertThat(both.authenticate("")).isEmpty();
        assertThat(both.authenticate(null)).isEmpty();

        assertThatThrownBy(() -> new ApiKey("short", "too-short", null)).hasMessageContaining("at least 16");
        assertThatThrownBy(() -> new ApiKey("both", KEY, "ab".repeat(32))).hasMessageContaining("exactly one");
        assertThatThrownBy(() -> new ApiKey("none", null, null)).hasMessageContaining("exactly one");
        assertThatThrownBy(() -> new ApiKey("hex", null, "xyz")).hasMessageContaining("64 hex");
        assertThatThrownBy(() -> new ApiKey(" ", KEY, null)).hasMessageContaining("name");
        assertThatThrownBy(() -> new SecurityProperties(List.of(new ApiKey("a", KEY, null),
                new ApiKey("a", KEY + "x", null)), new SecurityProperties.RateLimit(true, 1, 1, 1, 1, 1)))
                .hasMessageContaining("used twice");
        assertThatThrownBy(() -> new SecurityProperties.RateLimit(true, 0, 1, 1, 1, 1))
                .hasMessageContaining("requests-per-second");
    }

    private ApiKeyFilter filter(RateLimiter limiter) {
        return filter(limiter, null);
    }

    private ApiKeyFilter filter(RateLimiter limiter, RateLimiter failures) {
        return new ApiKeyFilter(keys, limiter, failures, new ProblemWriter(json));
    }

    private static MockHttpServletRequest api(String path) {
        MockHttpServletRequest request = new MockHttpServletRequest("GET", path);
        request.setServletPath(path);
        return request;
    }
}
