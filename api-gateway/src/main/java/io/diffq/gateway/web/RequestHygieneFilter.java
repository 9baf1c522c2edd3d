package io.diffq.gateway.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.net.URI;
import java.util.Set;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import tools.jackson.databind.json.JsonMapper;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Turns two client mistakes that would otherwise surface as server errors into client errors:
 * <ul>
 * <li>an {@code Accept} header that cannot be parsed is treated as absent ({@code *}{@code /*}), as HTTP
 * allows — Spring MVC parses it again while resolving an error handler, and some malformed values make
 * that parse throw where nothing catches it;</li>
 * <li>a method the API has no use for ({@code CONNECT}, {@code PROPFIND}, an invented one) is a {@code 405}
 * problem, where the servlet container would answer {@code 501}.</li>
 * </ul>
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class RequestHygieneFilter extends OncePerRequestFilter {

    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
            "TRACE");

    private final JsonMapper json;

    RequestHygieneFilter(JsonMapper json) {
        this.json = json;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (!METHODS.contains(request.getMethod())) {
            ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.METHOD_NOT_ALLOWED,
                    "the API does not use this method");
            problem.setType(URI.create(Problems.HTTP + HttpStatus.METHOD_NOT_ALLOWED.value()));
            problem.setTitle("Method Not Allowed");
            byte[] body = json.writeValueAsBytes(problem);
            response.setStatus(HttpStatus.METHOD_NOT_ALLOWED.value());
            response.setHeader(HttpHeaders.ALLOW, "GET, HEAD, POST, DELETE, OPTIONS");
            response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
            response.setContentLength(body.length);
            response.getOutputStream().write(body);
            return;
        }
        chain.doFilter(parses(request) ? request : new AnyAccept(request), response);
    }

    private static boolean parses(HttpServletRequest request) {
        Enumeration<String> values = request.getHeaders(HttpHeaders.ACCEPT);
        try {
            while (values != null && values.hasMoreElements()) {
                MediaType.parseMediaTypes(values.nextElement());
            }
            return true;
        } catch (RuntimeException malformed) {
            return false;
        }
    }

    private static final class AnyAccept extends HttpServletRequestWrapper {

        AnyAccept(HttpServletRequest request) {
            super(request);
        }

        @Override
        public String getHeader(String name) {
            return HttpHeaders.ACCEPT.equalsIgnoreCase(name) ? MediaType.ALL_VALUE : super.getHeader(name);
        }

        @Override
        public Enumeration<String> getHeaders(String name) {
            return HttpHeaders.ACCEPT.equalsIgnoreCase(name) ? Collections.enumeration(List.of(MediaType.ALL_VALUE))
                    : super.getHeaders(name);
        }
    }
}
