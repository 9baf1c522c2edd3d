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
import java.util.Set;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
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

    private final ProblemWriter problems;

    RequestHygieneFilter(ProblemWriter problems) {
        this.problems = problems;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (!METHODS.contains(request.getMethod())) {
            problems.write(request, response, Problem.of(HttpStatus.METHOD_NOT_ALLOWED,
                            Problems.http(HttpStatus.METHOD_NOT_ALLOWED.value()), "Method Not Allowed",
                            "the API does not use this method")
                    .header(HttpHeaders.ALLOW, "GET, HEAD, POST, DELETE, OPTIONS"));
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
