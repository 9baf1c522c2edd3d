package io.diffq.gateway.web;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes a {@link Problem} straight onto the servlet response, for the filters and error pages where no
 * controller advice runs, as {@code application/problem+json}. The body is written member by member (type,
 * title, status, detail, instance, then the extra members; absent ones left out), as Spring MVC writes the
 * advice's problems, so that it reads the same whatever mixins the mapper has.
 */
@Component
public final class ProblemWriter {

    private final JsonMapper json;

    public ProblemWriter(JsonMapper json) {
        this.json = json;
    }

    /** Status, headers and body of {@code problem}, then flushed: nothing later in the chain changes it. */
    public void write(HttpServletRequest request, HttpServletResponse response, Problem problem) throws IOException {
        byte[] body = json.writeValueAsBytes(members(problem.body()));
        response.setStatus(problem.body().getStatus());
        problem.headers().forEach((name, values) -> values.forEach(value -> response.addHeader(name, value)));
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.setContentLength(body.length);
        if (!"HEAD".equals(request.getMethod())) {
            response.getOutputStream().write(body);
        }
        response.flushBuffer();
    }

    /** The body alone, for a writer that is not a servlet response (Tomcat's error report). */
    String json(Problem problem) {
        return json.writeValueAsString(members(problem.body()));
    }

    private static Map<String, Object> members(ProblemDetail p) {
        Map<String, Object> members = new LinkedHashMap<>();
        members.put("type", String.valueOf(p.getType()));
        putPresent(members, "title", p.getTitle());
        members.put("status", p.getStatus());
        putPresent(members, "detail", p.getDetail());
        putPresent(members, "instance", p.getInstance() == null ? null : p.getInstance().toString());
        if (p.getProperties() != null) {
            p.getProperties().forEach((name, value) -> putPresent(members, name, value));
        }
        return members;
    }

    private static void putPresent(Map<String, Object> members, String name, Object value) {
        if (value != null) {
            members.put(name, value);
        }
    }
}
