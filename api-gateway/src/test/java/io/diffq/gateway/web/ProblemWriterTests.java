package io.diffq.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.gateway.jobs.InvalidJobException.FieldError;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ProblemWriterTests {

    private final JsonMapper json = JsonMapper.builder().build();
    private final ProblemWriter writer = new ProblemWriter(json);

    @Test
    void writesEveryMemberAndHeaderOfTheProblem() throws Exception {
        MockHttpServletResponse response = new MockHttpServletResponse();

        writer.write(new MockHttpServletRequest("POST", "/v1/jobs"), response,
                Problem.of(HttpStatus.BAD_REQUEST, Problems.INVALID_REQUEST, "Invalid job request", "bad prompt")
                        .instance("/v1/jobs")
                        .with("field", "prompt")
                        .with("errors", List.of(new FieldError("prompt", "is required")))
                        .retryAfter(Duration.ofMillis(200)));

        assertThat(response.getStatus()).isEqualTo(400);
        assertThat(response.getContentType()).isEqualTo("application/problem+json");
        assertThat(response.getHeader("Retry-After")).isEqualTo("1");
        assertThat(response.isCommitted()).isTrue();
        JsonNode p = json.readTree(response.getContentAsByteArray());
        assertThat(p.propertyNames()).containsExactly("type", "title", "status", "detail", "instance", "field",
                "errors");
        assertThat(p.get("type").asString()).isEqualTo("https://diffq.io/problems/invalid-request");
        assertThat(p.get("status").asInt()).isEqualTo(400);
        assertThat(p.get("errors").get(0).get("message").asString()).isEqualTo("is required");
        assertThat(response.getContentLength()).isEqualTo(response.getContentAsByteArray().length);
    }

    @Test
    void aHeadAnswerHasTheLengthButNoBody() throws Exception {
        MockHttpServletResponse response = new MockHttpServletResponse();

        writer.write(new MockHttpServletRequest("HEAD", "/v1/jobs"), response, ErrorPages.problem(404));

        assertThat(response.getStatus()).isEqualTo(404);
        assertThat(response.getContentLength()).isPositive();
        assertThat(response.getContentAsByteArray()).isEmpty();
    }

    @Test
    void tomcatsReportIsTheFixedProblemOfItsStatus() {
        assertThat(writer.json(ErrorPages.problem(400))).isEqualTo("{\"type\":\"https://diffq.io/problems/bad-request\","
                + "\"title\":\"Bad request\",\"status\":400,\"detail\":\"the request is not valid HTTP: check the "
                + "request line, the headers and the URI encoding\"}");
        assertThat(writer.json(ErrorPages.problem(505))).isEqualTo("{\"type\":\"about:blank\","
                + "\"title\":\"HTTP Version not supported\",\"status\":505,\"detail\":\"HTTP Version not supported\"}");
    }
}
