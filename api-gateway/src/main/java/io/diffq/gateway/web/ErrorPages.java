package io.diffq.gateway.web;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.catalina.Container;
import org.apache.catalina.Context;
import org.apache.catalina.Lifecycle;
import org.apache.catalina.Pipeline;
import org.apache.catalina.Valve;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.coyote.ActionCode;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

/**
 * Problem details for the errors that never reach a controller, so that every error of the API's port is
 * {@code application/problem+json}, whatever the client accepts:
 * <ul>
 * <li>the servlet container's error dispatch ({@code sendError} from the container or a filter, an exception
 * escaping the filters, a bad chunked body, {@code TRACE}): {@link Controller} replaces Boot's
 * {@code BasicErrorController} at {@code /error};</li>
 * <li>requests Tomcat rejects before any servlet runs: {@link ProblemReportValve} replaces Tomcat's HTML error
 * report. These are {@code 400} (an invalid request line, header, URI encoding such as {@code %2F} or
 * {@code %00}, a path leaving the root, a request line or headers over 8 KB, no {@code Host}), {@code 505} (an
 * HTTP version other than 1.0 and 1.1) and {@code 501} (the {@code CONNECT} method, a {@code Transfer-Encoding}
 * other than {@code chunked}). The last two are the 5xx that HTTP prescribes; they never reach the application
 * and count in none of its metrics.</li>
 * </ul>
 * Neither shows a message of the failure: only the status, a fixed title and a fixed detail.
 *
 * <p>Two cases are beyond reach. Tomcat answers {@code OPTIONS *} itself without running any valve, so an
 * {@code OPTIONS *} with a header Tomcat rejects gets a bare {@code 400} without a body. And when Tomcat rejects a
 * request before reading all of it (say a request line over 8 KB), it closes the connection with unread bytes,
 * which TCP turns into a reset: a client may then lose the answer that was sent.
 */
@Configuration(proxyBeanMethods = false)
class ErrorPages {

    static final URI ABOUT_BLANK = URI.create("about:blank");

    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> problemReportValve() {
        // Swapped in when the context starts: after Boot's customizers added their ErrorReportValve to the host
        // and after the host added its default one.
        return factory -> factory.addContextCustomizers(context -> context.addLifecycleListener(event -> {
            if (Lifecycle.BEFORE_START_EVENT.equals(event.getType())) {
                useProblemReportValve((Context) event.getLifecycle());
            }
        }));
    }

    private static void useProblemReportValve(Context context) {
        Container host = context.getParent();
        if (host == null) {
            return;
        }
        Pipeline pipeline = host.getPipeline();
        boolean present = false;
        for (Valve valve : pipeline.getValves()) {
            if (valve instanceof ProblemReportValve) {
                present = true;
            } else if (valve instanceof ErrorReportValve) {
                pipeline.removeValve(valve);
            }
        }
        if (!present) {
            pipeline.addValve(new ProblemReportValve());
        }
        if (host instanceof StandardHost standardHost) {
            standardHost.setErrorReportValveClass(ProblemReportValve.class.getName());
        }
    }

    /** The type, title and detail shown for a status that no handler of the API described. */
    static Problem problem(int status) {
        HttpStatusCode code = HttpStatusCode.valueOf(status);
        if (status == HttpStatus.BAD_REQUEST.value()) {
            return Problem.of(code, Problems.BAD_REQUEST, "Bad request",
                    "the request is not valid HTTP: check the request line, the headers and the URI encoding");
        }
        if (status == HttpStatus.INTERNAL_SERVER_ERROR.value()) {
            return Problem.of(code, Problems.INTERNAL, "Internal error", "an unexpected error occurred");
        }
        // RFC 9457: about:blank says the status code is all there is to it; its title is the reason phrase.
        HttpStatus known = HttpStatus.resolve(status);
        return Problem.of(code, ABOUT_BLANK, known != null ? known.getReasonPhrase() : "Error",
                known != null ? known.getReasonPhrase() : "HTTP status " + status);
    }

    /**
     * Boot's error path ({@code /error}) as a problem detail, for every method and every {@code Accept}. It writes
     * the body itself: Spring MVC's message converters look at the request again (its {@code Accept}, the
     * character encoding of its path), and a request that failed once may well fail there too.
     */
    @RestController
    @RequestMapping("${server.error.path:${error.path:/error}}")
    static class Controller implements ErrorController {

        private final ProblemWriter problems;

        Controller(ProblemWriter problems) {
            this.problems = problems;
        }

        @RequestMapping
        void error(HttpServletRequest request, HttpServletResponse response) throws IOException {
            // Called directly, not on an error dispatch: there is nothing at this path.
            int status = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE) instanceof Integer code
                    && code >= 400 && code <= 599 ? code : HttpStatus.NOT_FOUND.value();
            Problem problem = problem(status);
            if (request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI) instanceof String uri) {
                problem.instance(uri);
            }
            problems.write(request, response, problem);
        }
    }

    /**
     * Tomcat's error report for the requests it answers itself, as {@code application/problem+json} instead of
     * an HTML page. Public with a no-argument constructor, as Tomcat may create it by class name.
     */
    public static class ProblemReportValve extends ErrorReportValve {

        /**
         * A mapper of its own: the valve is made before the application's beans (and by class name, maybe), and
         * these problems hold only strings and a number, which any mapper writes alike.
         */
        private final ProblemWriter problems = new ProblemWriter(JsonMapper.builder().build());

        @Override
        protected void report(Request request, Response response, Throwable throwable) {
            int status = response.getStatus();
            if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
                return;
            }
            AtomicBoolean ioAllowed = new AtomicBoolean(false);
            response.getCoyoteResponse().action(ActionCode.IS_IO_ALLOWED, ioAllowed);
            if (!ioAllowed.get()) {
                return;
            }
            try {
                response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
                PrintWriter writer = response.getReporter();
                if (writer != null) {
                    // All the texts of these problems are ASCII: the reporter's default charset writes them as is.
                    writer.write(problems.json(problem(status)));
                    response.finishResponse();
                }
            } catch (IOException | IllegalStateException e) {
                // The client is gone or the response is already on its way: nothing more to tell.
            }
        }
    }
}
