package io.diffq.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.testing.KafkaBrokerExtension;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Thousands of random, malformed and hostile requests against a running gateway with a real broker. Every answer
 * must be a 2xx or a 4xx, every error an {@code application/problem+json} body with type, title and status, no
 * body may show a class name or stack trace, and no request without the valid API key may succeed. Afterwards the
 * gateway is still healthy and still accepts a job.
 *
 * <p>Requests come from a seeded {@link Random}, one per request index, so any request can be replayed:
 * {@code -Ddiffq.fuzz.seed=<seed>} (printed at the start), {@code -Ddiffq.fuzz.requests=<n>} (default 5000),
 * {@code -Ddiffq.fuzz.seconds=<s>} (default 90: sending stops then, even if fewer were sent).
 *
 * <p>Tomcat answers three kinds of request itself, before any filter or servlet, with a 5xx that the HTTP
 * specification asks for; they are allowed here, as problem details, for the requests that ask for them and only
 * those: {@code 505} for a request line with an HTTP version other than 1.0 and 1.1, {@code 501} for a
 * {@code Transfer-Encoding} Tomcat does not implement (anything but {@code chunked}) and {@code 501} for the
 * {@code CONNECT} method. They never reach the application, so they count in no application metric either.
 * HTTP/0.9 requests (a request line without a version) get an HTTP/0.9 answer, which has no status line or
 * headers: only its body is checked. {@code OPTIONS *} with a header Tomcat rejects gets a bare {@code 400} without
 * a body (see {@link #optionsStarIsAnsweredByTomcatAlone()}): the one error that is no problem detail.
 *
 * <p>A request that {@link HttpClient} refuses to send (an illegal header name or value, an invalid URI) is
 * counted and skipped. Where {@link HttpClient} fails or waits in vain (the server answered and closed the
 * connection before reading the whole request, so the connection is reset), the same bytes are sent again on a
 * socket and that answer is checked.
 */
@Tag("abuse")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        Gateway.SERVED_MODELS,
        "management.server.port=0",
        "diffq.topics.partitions=3",
        "diffq.gateway.job-id-secret=a-test-secret-of-at-least-32-characters",
        "diffq.gateway.security.api-keys[0].name=fuzzer",
        "diffq.gateway.security.api-keys[0].key=" + FuzzIntegrationTests.KEY,
        // The fuzzer is one client sending as fast as it can: the limiter is tested on its own.
        "diffq.gateway.security.rate-limit.requests-per-second=1000000",
        "diffq.gateway.security.rate-limit.burst=1000000",
        "diffq.gateway.security.rate-limit.failed-auth-burst=1000000"})
@DirtiesContext
class FuzzIntegrationTests {

    static final String KEY = "fuzz-key-4f9a1c7e2b8d6053";

    /**
     * Fixed by default, so that a build's result does not depend on luck; explore with
     * {@code -Ddiffq.fuzz.seed=random} (or any number) and pin what it finds as a case in the parser tests.
     */
    private static final long SEED = "random".equals(System.getProperty("diffq.fuzz.seed"))
            ? new Random().nextLong() : Long.getLong("diffq.fuzz.seed", -7463945775232068720L);
    private static final int REQUESTS = Integer.getInteger("diffq.fuzz.requests", 5000);
    private static final int SECONDS = Integer.getInteger("diffq.fuzz.seconds", 90);
    private static final int THREADS = 4;
    /** Only these request indices (comma-separated), to replay what a run reported. */
    private static final List<Integer> ONLY = System.getProperty("diffq.fuzz.only", "").isBlank() ? List.of()
            : java.util.Arrays.stream(System.getProperty("diffq.fuzz.only").split(",")).map(String::trim)
                    .map(Integer::valueOf).toList();

    /** What no body may show: exception class names, stack frames, library internals. */
    private static final Pattern LEAK = Pattern.compile("Exception|\\tat |\\bat (io\\.diffq|org\\.springframework|"
            + "org\\.apache|java\\.|jdk\\.|tools\\.jackson)|tools\\.jackson|com\\.fasterxml|java\\.lang|org\\.apache"
            + "|io\\.diffq|[a-z]\\.[A-Z][A-Za-z]+\\.[a-z][A-Za-z]*\\(|\\bget[A-Z][A-Za-z]*\\(\\)|`[A-Z][A-Za-z]+\\.[A-Za-z_]+");

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    @DynamicPropertySource
    static void kafka(DynamicPropertyRegistry registry) {
        registry.add("spring.kafka.bootstrap-servers", kafka::bootstrapServers);
    }

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    private final Map<String, String> violations = new ConcurrentHashMap<>();
    private final List<String> unanswered = new CopyOnWriteArrayList<>();
    private final List<String> knownJobs = new CopyOnWriteArrayList<>();
    /** What each fuzzer thread is sending now, to show what hangs if anything does. */
    private final Map<String, String> inFlight = new ConcurrentHashMap<>();
    /** Closes a raw socket that outlives its time: a blocked write has no timeout of its own. */
    private final ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor();

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void randomAndHostileRequestsGetProblemsNeverServerErrorsOrInternals() throws Exception {
        System.out.printf("FUZZ seed=%d requests=%d budget=%ds (replay: -Ddiffq.fuzz.seed=%d)%n", SEED, REQUESTS,
                SECONDS, SEED);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
        long started = System.nanoTime();
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        for (int t = 0; t < THREADS; t++) {
            pool.submit(() -> {
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(5)).build();
                int n;
                while ((n = next.getAndIncrement()) < (ONLY.isEmpty() ? REQUESTS : ONLY.size())
                        && System.nanoTime() < deadline) {
                    int i = ONLY.isEmpty() ? n : ONLY.get(n);
                    try {
                        runOne(http, i);
                    } catch (RuntimeException | Error e) {
                        violations.putIfAbsent("fuzzer crashed: " + e, "request #" + i);
                    }
                }
                return null;
            });
        }
        pool.shutdown();
        boolean finished = pool.awaitTermination(SECONDS + 60, TimeUnit.SECONDS);
        reaper.shutdownNow();
        double took = (System.nanoTime() - started) / 1e9;
        assertThat(finished).as("fuzzer threads finished; still sending: %s", inFlight).isTrue();

        report(Math.min(next.get(), ONLY.isEmpty() ? REQUESTS : ONLY.size()), took);
        assertThat(violations.keySet()).as("kinds of violation (seed %d; examples printed above)", SEED).isEmpty();
        if (ONLY.isEmpty()) {
            assertThat(counted("2xx") + counted("4xx")).as("answered requests").isGreaterThan(REQUESTS / 2);
        }

        Api.Response health = new Api(managementPort).get("/actuator/health");
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.json().get("status").asString()).isEqualTo("UP");
        Api.Response submitted = new Api(port).send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"after the storm\"}")));
        assertThat(submitted.status()).as(submitted.text()).isEqualTo(202);
    }

    /** Requests that Tomcat or the servlet error page answer, not a controller: problems all the same. */
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = ';', quoteCharacter = '`', textBlock = """
            GET /v1/jobs/%2F HTTP/1.1\\r\\nHost: x                                            ; 400 ; https://diffq.io/problems/bad-request
            GET /v1/jobs/%00 HTTP/1.1\\r\\nHost: x                                            ; 400 ; https://diffq.io/problems/bad-request
            GET /v1/jobs/a|b HTTP/1.1\\r\\nHost: x                                            ; 400 ; https://diffq.io/problems/bad-request
            GET /../../etc/passwd HTTP/1.1\\r\\nHost: x                                       ; 400 ; https://diffq.io/problems/bad-request
            GARBAGE                                                                         ; 400 ; https://diffq.io/problems/bad-request
            GET /v1/jobs HTTP/1.1                                                           ; 400 ; https://diffq.io/problems/bad-request
            GET /v1/jobs HTTP/1.1\\r\\nHost: x\\r\\nBad Header: y                              ; 400 ; https://diffq.io/problems/bad-request
            POST /v1/jobs HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\nContent-Length: 3 ; 400 ; https://diffq.io/problems/bad-request
            POST /v1/jobs HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer fuzz-key-4f9a1c7e2b8d6053\\r\\nContent-Type: application/json\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\nzz ; 400 ; https://diffq.io/problems/bad-request
            GET * HTTP/1.1\\r\\nHost: x\\r\\nBad Header: y                                ; 400 ; https://diffq.io/problems/bad-request
            GET /v1/jobs HTTP/2.0\\r\\nHost: x                                                ; 505 ; about:blank
            CONNECT /v1/jobs HTTP/1.1\\r\\nHost: x                                            ; 501 ; about:blank
            POST /v1/jobs HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: gzip                    ; 501 ; about:blank
            TRACE /v1/jobs HTTP/1.1\\r\\nHost: x                                              ; 405 ; about:blank
            `TRACE /v1/jobs HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json; charset=` ; 405 ; about:blank
            `GET /error HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: text/plain; charset=\\r\\nAccept: ;;;` ; 404 ; about:blank
            GET /error HTTP/1.1\\r\\nHost: x                                                  ; 404 ; about:blank
            DELETE /error HTTP/1.1\\r\\nHost: x\\r\\nAccept: application/xml                   ; 404 ; about:blank
            """)
    void whatTomcatAndTheErrorPageAnswerIsAProblemToo(String request, int status, String type) throws IOException {
        String wire = request.replace("\\r\\n", "\r\n") + (request.contains("\\r\\n\\r\\n") ? "" : "\r\n")
                + "\r\n";

        RawResponse r = raw(wire);

        assertThat(r).isNotNull();
        assertThat(r.status()).isEqualTo(status);
        assertThat(r.header("content-type")).isEqualTo("application/problem+json");
        JsonNode p = JSON.readTree(r.body());
        assertThat(p.get("type").asString()).isEqualTo(type);
        assertThat(p.get("title").asString()).isNotBlank();
        assertThat(p.get("status").asInt()).isEqualTo(status);
        assertThat(r.text()).doesNotContainPattern(LEAK);
    }

    /**
     * The one error that cannot be a problem: Tomcat answers {@code OPTIONS *} itself and runs no valve for it, so
     * an {@code OPTIONS *} with a header Tomcat rejects gets a bare {@code 400}: no body, so nothing internal either.
     */
    @Test
    void optionsStarIsAnsweredByTomcatAlone() throws IOException {
        RawResponse fine = raw("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
        RawResponse bad = raw("OPTIONS * HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");

        assertThat(fine.status()).isEqualTo(200);
        assertThat(fine.header("allow")).contains("GET", "POST");
        assertThat(fine.body()).isEmpty();
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.header("content-type")).isNull();
        assertThat(bad.body()).isEmpty();
    }

    private RawResponse raw(String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.shutdownOutput();
            return RawResponse.read(socket.getInputStream(), false);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // One request

    private void runOne(HttpClient http, int index) {
        Random rnd = new Random(SEED * 1_000_003L + index);
        Fuzz.Request request = new Fuzz(rnd, knownJobs).request();
        inFlight.put(Thread.currentThread().getName(), "#" + index + " " + trim(request.describe(), 300));
        if (index % 1000 == 0) {
            System.out.printf("FUZZ ... request #%d%n", index);
        }
        if (request.raw() != null) {
            runRaw(index, request);
        } else {
            runClient(http, index, request);
        }
        inFlight.remove(Thread.currentThread().getName());
    }

    private void runClient(HttpClient http, int index, Fuzz.Request r) {
        HttpRequest built;
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + r.path()))
                    .timeout(Duration.ofSeconds(5))
                    .method(r.method(), r.body() == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(r.body()));
            if (r.expectContinue()) {
                b.expectContinue(true);
            }
            for (Map.Entry<String, String> h : r.headers()) {
                b.header(h.getKey(), h.getValue());
            }
            built = b.build();
        } catch (IllegalArgumentException e) {
            // java.net.http refuses some names, values, methods and URIs before sending: not a server matter.
            count("refused by client");
            count("refused: " + Fuzz.escape(String.valueOf(e.getMessage()).replaceAll("[:(\\n].*", "")));
            return;
        }
        HttpResponse<byte[]> response;
        var pending = http.sendAsync(built, HttpResponse.BodyHandlers.ofByteArray());
        try {
            response = pending.get(6, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // java.net.http can wait forever, or fail, where the server answered and closed the connection before
            // reading all of the request (it then resets the connection). The same bytes on a socket tell what the
            // server answered.
            pending.cancel(true);
            count("client failed, replayed raw");
            runRaw(index, r.asRaw(port));
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        String contentType = response.headers().firstValue("Content-Type").orElse(null);
        check(index, r, response.statusCode(), contentType, response.body(), "HEAD".equals(r.method()));
        if (response.statusCode() == 202 && knownJobs.size() < 200) {
            response.headers().firstValue("Location").ifPresent(l -> knownJobs.add(l.substring(l.lastIndexOf('/') + 1)));
        }
    }

    private void runRaw(int index, Fuzz.Request r) {
        count("raw requests");
        try (Socket socket = new Socket("127.0.0.1", port)) {
            ScheduledFuture<?> reap = reaper.schedule(() -> {
                try {
                    socket.close();
                } catch (IOException e) {
                    // closing is all that is wanted
                }
            }, 20, TimeUnit.SECONDS);
            try {
                talkRaw(index, r, socket);
            } finally {
                reap.cancel(false);
            }
        } catch (IOException e) {
            count("no answer");
            unanswered.add("#" + index + " raw connect: " + e.getMessage());
        }
    }

    private void talkRaw(int index, Fuzz.Request r, Socket socket) throws IOException {
        {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            try {
                out.write(r.raw());
                out.flush();
                if (r.halfClose()) {
                    socket.shutdownOutput();
                }
            } catch (IOException e) {
                // The server may close early (a header it refused): what it answered is still read below.
            }
            InputStream in = socket.getInputStream();
            boolean first = true;
            while (true) {
                RawResponse response;
                try {
                    response = RawResponse.read(in, "HEAD".equals(r.method()));
                } catch (SocketTimeoutException e) {
                    if (first) {
                        count("no answer");
                        unanswered.add("#" + index + " raw timed out: " + r.describe());
                    }
                    return;
                } catch (IOException e) {
                    if (first) {
                        count("no answer");
                        unanswered.add("#" + index + " raw " + e.getMessage() + ": " + r.describe());
                    }
                    return;
                }
                if (response == null) {
                    if (first) {
                        count("no answer");
                        unanswered.add("#" + index + " raw closed without an answer: " + r.describe());
                    }
                    return;
                }
                if (response.status() == 0) {
                    count("HTTP/0.9 answer");
                    if (LEAK.matcher(response.text()).find()) {
                        violation(index, r, 0, null, response.body(), "internals in an HTTP/0.9 body");
                    }
                    return;
                }
                check(index, r, response.status(), response.header("content-type"), response.body(), response.head());
                if (!r.pipelined() || response.closes()) {
                    return;
                }
                // Bytes beyond the stated body are a second request: its answer must be a problem too.
                first = false;
                socket.setSoTimeout(2_000);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // What every answer must be

    private void check(int index, Fuzz.Request r, int status, String contentType, byte[] body, boolean head) {
        count(String.valueOf(status));
        count(status / 100 + "xx");
        String text = new String(body, StandardCharsets.UTF_8);
        boolean tomcat5xx = (status == 505 && r.badVersion())
                || (status == 501 && (r.unknownCoding() || r.method().equals("CONNECT")));
        if (status >= 500 && !tomcat5xx) {
            violation(index, r, status, contentType, body, "a server error");
        } else if (status < 200 || (status >= 300 && status < 400)) {
            violation(index, r, status, contentType, body, "neither 2xx nor 4xx");
        }
        if (LEAK.matcher(text).find()) {
            violation(index, r, status, contentType, body, "internals in the body");
        }
        if (status >= 200 && status < 300 && r.onApi() && !r.validKey()) {
            violation(index, r, status, contentType, body, "an API request without the key succeeded");
        }
        if (status < 400) {
            return;
        }
        if ((status == 400 || (status == 505 && r.badVersion())) && r.optionsStar() && contentType == null
                && body.length == 0) {
            // See optionsStarIsAnsweredByTomcatAlone: a rejected OPTIONS * (bad header, bad version) gets no body.
            count("bare " + status + " to OPTIONS *");
            return;
        }
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("application/problem+json")) {
            violation(index, r, status, contentType, body, "an error that is not application/problem+json");
            return;
        }
        if (head) {
            return;
        }
        JsonNode problem;
        try {
            problem = JSON.readTree(body);
        } catch (RuntimeException e) {
            violation(index, r, status, contentType, body, "a problem body that is not JSON");
            return;
        }
        if (problem == null || !problem.isObject() || !problem.path("type").isString()
                || !problem.path("title").isString() || problem.path("status").asInt() != status) {
            violation(index, r, status, contentType, body, "a problem without type, title and its status");
        }
    }

    private void violation(int index, Fuzz.Request r, int status, String contentType, byte[] body, String what) {
        String answer = new String(body, 0, Math.min(body.length, 300), StandardCharsets.UTF_8);
        // One example per kind of answer: the same defect found 500 times is reported once.
        String signature = what + " | " + status + " | " + (contentType == null ? "no Content-Type" : contentType)
                + " | " + kind(body);
        violations.putIfAbsent(signature, "#" + index + " " + r.describe() + "\n      answered " + status + " "
                + contentType + ": " + Fuzz.escape(answer));
    }

    /** What an answer is, for grouping: a problem's title, else the start of the body. */
    private static String kind(byte[] body) {
        try {
            JsonNode n = JSON.readTree(body);
            if (n != null && n.isObject() && n.has("title")) {
                return "title " + n.path("title").asString() + (n.has("type") ? "" : ", no type");
            }
        } catch (RuntimeException e) {
            // not JSON
        }
        return body.length == 0 ? "empty body" : trim(Fuzz.escape(new String(body, StandardCharsets.UTF_8)), 60);
    }

    private void count(String key) {
        counts.computeIfAbsent(key, k -> new LongAdder()).increment();
    }

    private long counted(String key) {
        LongAdder a = counts.get(key);
        return a == null ? 0 : a.sum();
    }

    private void report(int sent, double seconds) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "FUZZ seed=%d: %d requests in %.1f s (%.0f/s)%n", SEED, sent, seconds,
                sent / seconds));
        Map<String, Long> byStatus = new TreeMap<>();
        counts.forEach((k, v) -> byStatus.put(k, v.sum()));
        byStatus.forEach((k, v) -> s.append(String.format(Locale.ROOT, "FUZZ   %-24s %6d%n", Fuzz.escape(k), v)));
        s.append("FUZZ ").append(unanswered.size()).append(" without an answer");
        unanswered.stream().limit(10).forEach(u -> s.append("\nFUZZ   ").append(Fuzz.escape(trim(u, 400))));
        s.append("\nFUZZ ").append(violations.size()).append(" kinds of violation");
        new TreeMap<>(violations).forEach((k, v) -> s.append("\nFUZZ   ").append(Fuzz.escape(k))
                .append("\n      e.g. ").append(Fuzz.escape(trim(v, 1500)).replace("\\n      ", "\n      ")));
        System.out.println(s);
    }

    private static String trim(String s, int max) {
        return s.length() > max ? s.substring(0, max) + "…" : s;
    }

    // ---------------------------------------------------------------------------------------------------------
    // A raw HTTP/1.1 answer, read without trusting it

    record RawResponse(int status, Map<String, String> headers, byte[] body, boolean head) {

        String header(String name) {
            return headers.get(name);
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        boolean closes() {
            return "close".equalsIgnoreCase(headers.getOrDefault("connection", ""));
        }

        /** The next answer on the stream; {@code null} at its end; status 0 for an HTTP/0.9 answer. */
        static RawResponse read(InputStream in, boolean head) throws IOException {
            while (true) {
                String statusLine = line(in);
                if (statusLine == null) {
                    return null;
                }
                if (!statusLine.startsWith("HTTP/")) {
                    ByteArrayOutputStream rest = new ByteArrayOutputStream();
                    rest.write(statusLine.getBytes(StandardCharsets.ISO_8859_1));
                    try {
                        in.transferTo(rest);
                    } catch (SocketTimeoutException e) {
                        // HTTP/0.9 ends with the connection; what came is enough.
                    }
                    return new RawResponse(0, Map.of(), rest.toByteArray(), head);
                }
                String[] parts = statusLine.split(" ", 3);
                int status = Integer.parseInt(parts[1].trim());
                Map<String, String> headers = new LinkedHashMap<>();
                String h;
                while ((h = line(in)) != null && !h.isEmpty()) {
                    int colon = h.indexOf(':');
                    if (colon > 0) {
                        headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
                    }
                }
                if (status >= 100 && status < 200) {
                    continue;
                }
                byte[] body;
                if (head || status == 204 || status == 304) {
                    body = new byte[0];
                } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                    body = chunked(in);
                } else if (headers.containsKey("content-length")) {
                    body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
                } else {
                    body = in.readAllBytes();
                }
                return new RawResponse(status, headers, body, head);
            }
        }

        private static byte[] chunked(InputStream in) throws IOException {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                String size = line(in);
                if (size == null) {
                    return body.toByteArray();
                }
                int semicolon = size.indexOf(';');
                int n = Integer.parseInt((semicolon >= 0 ? size.substring(0, semicolon) : size).trim(), 16);
                if (n == 0) {
                    String trailer;
                    while ((trailer = line(in)) != null && !trailer.isEmpty()) {
                        // trailers are not used
                    }
                    return body.toByteArray();
                }
                body.write(in.readNBytes(n));
                line(in);
            }
        }

        /** A line without its CRLF; {@code null} at the end of the stream. */
        private static String line(InputStream in) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) != -1) {
                if (c == '\n') {
                    byte[] bytes = b.toByteArray();
                    int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
                }
                b.write(c);
            }
            return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // The generator

    /** Draws one request from a seeded random source. */
    static final class Fuzz {

        /**
         * A request to send: through {@link HttpClient} when {@code raw} is {@code null}, else these bytes on a
         * socket.
         */
        record Request(String method, String path, List<Map.Entry<String, String>> headers, byte[] body,
                boolean expectContinue, byte[] raw, boolean halfClose, boolean pipelined, boolean badVersion,
                boolean unknownCoding, boolean validKey) {

            /** The same request as bytes for a socket, closing the connection after it. */
            Request asRaw(int port) {
                StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                        .append("Host: 127.0.0.1:").append(port).append("\r\n");
                headers.forEach(h -> head.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n"));
                if (body != null) {
                    head.append("Content-Length: ").append(body.length).append("\r\n");
                }
                head.append("Connection: close\r\n\r\n");
                byte[] bytes = concat(head.toString().getBytes(StandardCharsets.ISO_8859_1),
                        body == null ? new byte[0] : body);
                return new Request(method, path, headers, body, false, bytes, false, false, badVersion, unknownCoding,
                        validKey);
            }

            /** {@code OPTIONS *}: answered by Tomcat alone. */
            boolean optionsStar() {
                return raw != null && new String(raw, 0, Math.min(raw.length, 14), StandardCharsets.ISO_8859_1)
                        .replaceFirst("^(\\r\\n)+", "").startsWith("OPTIONS * ");
            }

            boolean onApi() {
                String p = path.toLowerCase(Locale.ROOT);
                return p.contains("v1") || p.contains("%76") || p.contains("%56");
            }

            String describe() {
                if (raw != null) {
                    return "raw " + escape(new String(raw, 0, Math.min(raw.length, 400), StandardCharsets.ISO_8859_1))
                            + (raw.length > 400 ? "… (" + raw.length + " bytes)" : "") + (halfClose ? " [half-closed]" : "");
                }
                StringBuilder s = new StringBuilder(method).append(' ').append(trim(path, 200));
                headers.forEach(h -> s.append(" | ").append(h.getKey()).append(": ")
                        .append(escape(trim(h.getValue(), 100))));
                if (body != null) {
                    s.append(" | body (").append(body.length).append(" bytes): ")
                            .append(escape(new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8)));
                }
                return s.toString();
            }
        }

        private static final String[] METHODS = {"GET", "GET", "GET", "POST", "POST", "POST", "POST", "PUT", "PATCH",
                "DELETE", "DELETE", "HEAD", "OPTIONS"};
        private static final String[] RAW_METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "TRACE",
                "CONNECT", "PROPFIND", "get", "P OST", "G\u00c9T", "", "GET\tGET", "X".repeat(300), "POST\u0000"};
        private static final String[] FIELDS = {"prompt", "negativePrompt", "width", "height", "steps",
                "guidanceScale", "seed", "model", "scheduler", "deadlineSeconds"};
        private static final String[] CONTENT_TYPES = {"application/json", "application/json", "application/json",
                "application/json; charset=utf-8", "application/json;charset=UTF-8", "application/json; charset=ISO-8859-1",
                "application/json; charset=garbage", "application/json; charset=", "application/json;;;", "APPLICATION/JSON",
                "application/problem+json", "application/merge-patch+json", "text/plain", "text/json", "application/xml",
                "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "multipart/form-data",
                "*/*", "application/*", "", ";", "garbage", "application/json; q=0.5", "image/png",
                "application/json, text/plain", "application/json; boundary=\"", "text/event-stream"};
        private static final String[] ACCEPTS = {"application/json", "*/*", "application/problem+json",
                "application/xml", "text/html", "text/plain", "image/png", "garbage", "application/json;q=0", "*/*;q=",
                "text/event-stream", "application/*", "*", "application/json, application/xml;q=0.1", "",
                "application/json;charset=utf-8", "image/*", "q=1", ";;;"};

        private final Random rnd;
        private final List<String> knownJobs;

        Fuzz(Random rnd, List<String> knownJobs) {
            this.rnd = rnd;
            this.knownJobs = knownJobs;
        }

        Request request() {
            return rnd.nextInt(100) < 78 ? client() : raw();
        }

        // --- through HttpClient

        private Request client() {
            String method = pick(METHODS);
            String path = path();
            List<Map.Entry<String, String>> headers = new ArrayList<>();
            boolean validKey = authorization(headers);
            byte[] body = null;
            if (method.equals("POST") || method.equals("PUT") || method.equals("PATCH") || rnd.nextInt(10) == 0) {
                body = body();
                if (rnd.nextInt(12) != 0) {
                    headers.add(Map.entry("Content-Type", pick(CONTENT_TYPES)));
                }
            } else if (rnd.nextInt(8) == 0) {
                headers.add(Map.entry("Content-Type", pick(CONTENT_TYPES)));
            }
            if (rnd.nextInt(3) != 0) {
                headers.add(Map.entry("Accept", rnd.nextInt(10) == 0 ? headerValue(40) : pick(ACCEPTS)));
            }
            extraHeaders(headers);
            boolean coding = headers.stream().anyMatch(h -> h.getKey().equals("Transfer-Encoding"));
            return new Request(method, path, headers, body, rnd.nextInt(20) == 0, null, false, false, false, coding,
                    validKey);
        }

        private boolean authorization(List<Map.Entry<String, String>> headers) {
            int r = rnd.nextInt(100);
            if (r < 85) {
                headers.add(Map.entry("Authorization", "Bearer " + KEY));
                return true;
            }
            if (r < 90) {
                return false;
            }
            headers.add(Map.entry("Authorization", pick(new String[] {"Bearer", "Bearer ", "Basic " + KEY,
                    "Bearer " + KEY + "x", "Bearer " + KEY.toUpperCase(Locale.ROOT), "bearer", "Bearer " + headerValue(30),
                    headerValue(60), junk(10), "Bearer " + "A".repeat(5000), "Bearer " + KEY + " " + KEY, "Digest " + KEY})));
            return false;
        }

        private void extraHeaders(List<Map.Entry<String, String>> headers) {
            int n = rnd.nextInt(4);
            for (int i = 0; i < n; i++) {
                switch (rnd.nextInt(16)) {
                    case 0 -> headers.add(Map.entry("Idempotency-Key", rnd.nextBoolean() ? UUID.randomUUID().toString()
                            : headerValue(rnd.nextInt(300))));
                    case 1 -> headers.add(Map.entry("X-Forwarded-For", headerValue(30)));
                    case 2 -> headers.add(Map.entry("Content-Encoding", pick(new String[] {"gzip", "br", "garbage", "identity"})));
                    case 3 -> headers.add(Map.entry("Range", pick(new String[] {"bytes=0-10", "bytes=garbage", "bytes=-1",
                            "lines=1-2"})));
                    case 4 -> headers.add(Map.entry("Origin", pick(new String[] {"http://evil.example", "null", headerValue(20)})));
                    case 5 -> headers.add(Map.entry("Access-Control-Request-Method", pick(new String[] {"POST", "DELETE",
                            "garbage"})));
                    case 6 -> headers.add(Map.entry("If-None-Match", pick(new String[] {"*", "\"x\"", headerValue(10)})));
                    case 7 -> headers.add(Map.entry("Accept-Charset", pick(new String[] {"utf-8", "garbage", "*"})));
                    case 8 -> headers.add(Map.entry("Accept-Language", pick(new String[] {"de", "zz-ZZ", "*", headerValue(10)})));
                    case 9 -> headers.add(Map.entry("Transfer-Encoding", pick(new String[] {"chunked", "gzip", "identity"})));
                    case 10 -> headers.add(Map.entry("X-" + token(8), headerValue(rnd.nextInt(100))));
                    case 11 -> headers.add(Map.entry(rnd.nextInt(5) == 0 ? junk(10) : token(1 + rnd.nextInt(30)), "x"));
                    case 12 -> headers.add(Map.entry("Cookie", "JSESSIONID=" + headerValue(20)));
                    case 13 -> headers.add(Map.entry("X-HTTP-Method-Override", pick(METHODS)));
                    case 14 -> headers.add(Map.entry("Accept-Encoding", pick(new String[] {"gzip", "br;q=garbage", "*"})));
                    default -> headers.add(Map.entry("User-Agent", rnd.nextInt(8) == 0 ? junk(20) : headerValue(rnd.nextInt(200))));
                }
            }
        }

        private String path() {
            String id = knownJobs.isEmpty() || rnd.nextInt(3) != 0 ? uuid() : knownJobs.get(rnd.nextInt(knownJobs.size()));
            return switch (rnd.nextInt(30)) {
                case 0, 1, 2, 3, 4, 5, 6, 7 -> "/v1/jobs";
                case 8, 9, 10, 11 -> "/v1/jobs/" + id;
                case 12, 13 -> "/v1/jobs/" + id + "/image";
                case 14 -> "/v1/jobs/" + uuid() + "/events";
                case 15 -> "/v1/jobs/" + token(rnd.nextInt(40));
                case 16 -> "/v1/jobs/" + pick(new String[] {"%00", "%2F", "%2e%2e", "..", ".", "%20", "%ZZ", "%",
                        "%u0041", "%C0%AF", "%E2%80%AE", "%FF%FE", "a%00b"});
                case 17 -> pick(new String[] {"/../../etc/passwd", "/v1/jobs/../../etc/passwd",
                        "/v1/jobs/..%2F..%2Fetc%2Fpasswd", "/v1/%2e%2e/%2e%2e/etc/passwd", "/v1/jobs/..;/..;/etc/passwd"});
                case 18 -> pick(new String[] {"/v1/jobs;jsessionid=x", "/v1;x=1/jobs", "/v1/jobs;", "/v1/jobs/;/image",
                        "/v1/jobs/" + id + ";a=b/image"});
                case 19 -> pick(new String[] {"//v1/jobs", "/v1//jobs", "///v1///jobs//", "/v1/jobs/", "/v1/jobs//" + id,
                        "/./v1/./jobs"});
                case 20 -> pick(new String[] {"/v1%2Fjobs", "/v1/jobs%2F" + id, "%2Fv1%2Fjobs", "/v1/jobs%2f" + id + "%2Fimage",
                        "/%76%31/jobs", "/V1/JOBS", "/v1/Jobs"});
                case 21 -> "/v1/jobs/" + "a".repeat(rnd.nextInt(7_000));
                case 22 -> "/" + "x/".repeat(rnd.nextInt(3000));
                case 23 -> "/v1/jobs/" + percentEncoded(unicode(rnd.nextInt(30)));
                case 24 -> "/v1/jobs/" + unicode(rnd.nextInt(10));
                case 25 -> "/v1/jobs?" + token(5) + "=" + percentEncoded(junk(rnd.nextInt(200)));
                case 26 -> pick(new String[] {"/", "/error", "/actuator/health", "/actuator/prometheus", "/v1", "/v1/",
                        "/v2/jobs", "/favicon.ico", "/index.html", "/static/x.js", "/error/x"});
                case 27 -> "/v1/jobs?" + "a=1&".repeat(rnd.nextInt(1500));
                case 28 -> "/v1/jobs/" + id + "/" + token(10);
                default -> "/v1/jobs#" + token(5);
            };
        }

        // --- bodies

        byte[] body() {
            int kind = rnd.nextInt(100);
            if (kind < 20) {
                return utf8(validJob());
            }
            if (kind < 45) {
                return utf8(mutatedJob());
            }
            if (kind < 60) {
                return utf8(malformedJson());
            }
            if (kind < 70) {
                return utf8(deep());
            }
            if (kind < 78) {
                return utf8(hugeStrings());
            }
            if (kind < 84) {
                return bytes(rnd.nextInt(3000));
            }
            if (kind < 88) {
                return new byte[0];
            }
            if (kind < 93) {
                return encodings();
            }
            String valid = validJob();
            return utf8(valid.substring(0, rnd.nextInt(valid.length())));
        }

        private String validJob() {
            Map<String, String> f = new LinkedHashMap<>();
            f.put("prompt", quote(rnd.nextBoolean() ? "a red circle" : printable(1 + rnd.nextInt(200))));
            if (rnd.nextBoolean()) {
                f.put("width", String.valueOf(8 * (1 + rnd.nextInt(128))));
                f.put("height", String.valueOf(8 * (1 + rnd.nextInt(128))));
            }
            if (rnd.nextBoolean()) {
                f.put("steps", String.valueOf(1 + rnd.nextInt(150)));
            }
            if (rnd.nextBoolean()) {
                f.put("seed", String.valueOf(Math.abs(rnd.nextLong()) % 4_294_967_296L));
            }
            if (rnd.nextInt(4) == 0) {
                f.put("guidanceScale", String.valueOf(rnd.nextDouble() * 30));
            }
            if (rnd.nextInt(4) == 0) {
                f.put("scheduler", quote(pick(new String[] {"ddim", "euler", "DDIM"})));
            }
            if (rnd.nextInt(4) == 0) {
                f.put("negativePrompt", quote(printable(rnd.nextInt(100))));
            }
            if (rnd.nextInt(4) == 0) {
                f.put("deadlineSeconds", String.valueOf(1 + rnd.nextInt(86400)));
            }
            if (rnd.nextInt(6) == 0) {
                f.put("model", rnd.nextBoolean() ? "\"simulated\"" : "null");
            }
            return object(f);
        }

        private String mutatedJob() {
            Map<String, String> f = new LinkedHashMap<>();
            f.put("prompt", quote("p"));
            int n = 1 + rnd.nextInt(3);
            for (int i = 0; i < n; i++) {
                String field = rnd.nextInt(8) == 0 ? pick(new String[] {"extra", "Prompt", "prompt ", "", "__proto__",
                        "constructor", "\\u0070rompt", token(rnd.nextInt(20))}) : pick(FIELDS);
                f.put(field, value());
            }
            if (rnd.nextInt(8) == 0) {
                // A duplicate key: the map cannot hold it, the text can.
                String dup = pick(FIELDS);
                String o = object(f);
                return o.substring(0, o.length() - 1) + ",\"" + dup + "\":" + value() + ",\"" + dup + "\":" + value() + "}";
            }
            if (rnd.nextInt(10) == 0) {
                f.remove("prompt");
            }
            return object(f);
        }

        /** Any JSON value or near-JSON literal, biased to the edges of the bounds. */
        private String value() {
            return switch (rnd.nextInt(24)) {
                case 0 -> pick(new String[] {"0", "-0", "1", "-1", "7", "8", "9", "1023", "1024", "1025", "1032", "150",
                        "151", "86400", "86401", "4294967295", "4294967296", "-4294967296", "2147483647", "2147483648",
                        "9223372036854775807", "9223372036854775808", "-9223372036854775809"});
                case 1 -> pick(new String[] {"123456789012345678901234567890123456789012345678901234567890",
                        "1" + "0".repeat(rnd.nextInt(5000)), "-" + "9".repeat(1000)});
                case 2 -> pick(new String[] {"1e309", "-1e309", "1e-400", "1E400", "4.9e-324", "1.7976931348623157e308",
                        "30.000000000000001", "29.999999999999999", "0.0", "-0.0", "7.5", "1e2", "8e0", "1.0", "512.0",
                        "1." + "5".repeat(3000)});
                case 3 -> pick(new String[] {"NaN", "Infinity", "-Infinity", "+1", "01", "0x10", ".5", "1.", "1e", "--1",
                        "1_000", "\u0661", "0b1"});
                case 4 -> pick(new String[] {"true", "false", "null", "nul", "True", "undefined"});
                case 5 -> "[" + value() + "]";
                case 6 -> "{\"a\":" + value() + "}";
                case 7 -> "[]";
                case 8 -> "{}";
                case 9 -> quote(pick(new String[] {"", " ", "\\t", "\\n", "simulated", "SIMULATED", "ddim", "euler", "dpm",
                        "512", "twenty"}));
                case 10 -> "\"" + pick(new String[] {"\\ud800", "\\udc00", "\\ud800\\ud800", "\\udc00\\ud800",
                        "a\\ud83dz", "\\ud83d\\ude00", "\\u0000", "\\u001f", "\\u007f", "\\u0085", "\\u2028", "\\ufeff",
                        "\\uffff", "\\u12", "\\x41", "\\'", "\\/", "\\"}) + "\"";
                case 11 -> "\"" + (char) rnd.nextInt(32) + "raw control\"";
                case 12 -> quote(printable(995 + rnd.nextInt(10)));
                case 13 -> quote("\\ud83d\\ude00".repeat(995 + rnd.nextInt(10)));
                case 14 -> quote("x".repeat(rnd.nextInt(20_000)));
                case 15 -> "\"" + unicode(1 + rnd.nextInt(50)) + "\"";
                case 16 -> "'single'";
                case 17 -> "\"unterminated";
                case 18 -> "[" + "1,".repeat(rnd.nextInt(3000)) + "1]";
                case 19 -> "/* comment */ 1";
                case 20 -> "\"" + "   ".repeat(100) + "\"";
                case 21 -> "\"line\\nbreak\\ttab\\rreturn\"";
                default -> String.valueOf(rnd.nextInt(2000) - 500);
            };
        }

        private String malformedJson() {
            return pick(new String[] {"{", "}", "[", "]", "{\"prompt\":", "{\"prompt\":\"p\",}", "{\"prompt\":\"p\"}}",
                    "{\"prompt\":\"p\"} {}", "{\"prompt\":\"p\"} x", "{prompt:\"p\"}", "{'prompt':'p'}",
                    "{\"prompt\" \"p\"}", "{\"prompt\":\"p\" \"steps\":1}", "null", "true", "123", "\"string\"", "[]",
                    "[{\"prompt\":\"p\"}]", "{}", " ", "\n\n", "\u0000", "{\"prompt\":\"p\"}\u0000",
                    "\ufeff{\"prompt\":\"p\"}", "{\"prompt\":\"p\" /* c */}", "// c\n{\"prompt\":\"p\"}",
                    "{\"prompt\":\"p\",\"prompt\":\"q\"}", "{\"\":1}", "{\"prompt\":\"p\",\"\\u0000\":1}",
                    "{\"a\":" + "1".repeat(100) + "e" + "9".repeat(100) + "}", "{\"prompt\":\"\u0007\"}",
                    "{\"prompt\":\"p\\", "{\"prompt\":\"\\u", "{\"prompt\":\"\\uD800\"}", "{\"prompt\":NaN}",
                    "{\"prompt\":\"p\",\"steps\":Infinity}", "{\"prompt\":\"p\",\"seed\":-Infinity}"});
        }

        private String deep() {
            int depth = pick(new int[] {100, 1000, 1001, 2000, 10_000, 17_000});
            return switch (rnd.nextInt(4)) {
                case 0 -> "[".repeat(depth);
                case 1 -> "[".repeat(depth) + "]".repeat(depth);
                case 2 -> "{\"prompt\":" + "[".repeat(depth) + "]".repeat(depth) + "}";
                default -> "{\"a\":".repeat(Math.min(depth, 2500)) + "1" + "}".repeat(Math.min(depth, 2500));
            };
        }

        private String hugeStrings() {
            int len = pick(new int[] {999, 1000, 1001, 16_000, 16_370, 16_383, 16_384, 16_385, 17_000, 40_000});
            if (rnd.nextInt(5) == 0) {
                // A long field name instead of a long value.
                return "{\"prompt\":\"p\",\"" + "x".repeat(len) + "\":1}";
            }
            return "{\"" + pick(new String[] {"prompt", "negativePrompt", "model", "scheduler"}) + "\":\""
                    + "y".repeat(len) + "\"}";
        }

        private byte[] encodings() {
            String json = validJob();
            return switch (rnd.nextInt(5)) {
                case 0 -> json.getBytes(StandardCharsets.UTF_16);
                case 1 -> json.getBytes(StandardCharsets.UTF_16LE);
                case 2 -> concat(new byte[] {(byte) 0xC0, (byte) 0xAF, (byte) 0xFF, (byte) 0xFE}, utf8(json));
                case 3 -> json.replace("a red circle", "caf\u00e9").getBytes(StandardCharsets.ISO_8859_1);
                default -> {
                    byte[] b = utf8("{\"prompt\":\"x\"}");
                    b[10] = (byte) (0x80 | rnd.nextInt(0x80));
                    yield b;
                }
            };
        }

        // --- raw requests on a socket

        private Request raw() {
            String method = pick(RAW_METHODS);
            String path = rnd.nextInt(4) == 0 ? rawPath() : path();
            String version = "HTTP/1.1";
            boolean badVersion = false;
            int v = rnd.nextInt(20);
            if (v == 0) {
                version = pick(new String[] {"HTTP/2.0", "HTTP/3.0", "HTTP/1.2", "HTTP/9.9", "HTTP/0.8"});
                badVersion = true;
            } else if (v == 1) {
                version = pick(new String[] {"HTTP/1.0", "http/1.1", "HTTP/1.1 extra", "HTTP/1", "HTTP/", "HTTPS/1.1",
                        "HTTP/1.1\u0000", "HTTP/01.1"});
                badVersion = !version.equals("HTTP/1.0");
            } else if (v == 2) {
                version = "";
            }
            String eol = rnd.nextInt(15) == 0 ? pick(new String[] {"\n", "\r", "\n\r"}) : "\r\n";
            boolean validKey = rnd.nextInt(10) != 0;
            byte[] body = rnd.nextInt(3) == 0 ? new byte[0] : body();
            StringBuilder head = new StringBuilder();
            if (rnd.nextInt(20) == 0) {
                head.append("\r\n\r\n");
            }
            head.append(method).append(rnd.nextInt(20) == 0 ? "  " : " ").append(path);
            if (!version.isEmpty()) {
                head.append(' ').append(version);
            }
            head.append(eol);
            if (rnd.nextInt(25) != 0) {
                head.append("Host: ").append(rnd.nextInt(20) == 0 ? junk(20) : "localhost").append(eol);
            }
            if (rnd.nextInt(30) == 0) {
                head.append("Host: other").append(eol);
            }
            if (validKey) {
                head.append("Authorization: Bearer ").append(KEY).append(eol);
            }
            if (rnd.nextInt(5) != 0) {
                head.append("Content-Type: ").append(pick(CONTENT_TYPES)).append(eol);
            }
            if (rnd.nextInt(3) == 0) {
                head.append("Accept: ").append(pick(ACCEPTS)).append(eol);
            }
            boolean halfClose = false;
            boolean pipelined = false;
            boolean unknownCoding = false;
            boolean chunked = false;
            switch (rnd.nextInt(14)) {
                case 0, 1, 2, 3, 4 -> head.append("Content-Length: ").append(body.length).append(eol);
                case 5 -> {
                    // Promises more than it sends, then closes its side: the server sees the end of the body early.
                    head.append("Content-Length: ").append(body.length + 1 + rnd.nextInt(100_000)).append(eol);
                    halfClose = true;
                }
                case 6 -> {
                    // Sends more than it promises: the rest is read as a next request.
                    int stated = body.length == 0 ? 0 : rnd.nextInt(body.length);
                    head.append("Content-Length: ").append(stated).append(eol);
                    pipelined = true;
                }
                case 7 -> head.append("Content-Length: ").append(pick(new String[] {"-1", "abc", "1e3", " 5", "0x10",
                        "99999999999999999999", "9223372036854775807", "18446744073709551616", "", "+5", "5, 5",
                        "2147483648"})).append(eol);
                case 8 -> head.append("Content-Length: ").append(body.length).append(eol).append("Content-Length: ")
                        .append(body.length + 1).append(eol);
                case 9 -> {
                    head.append("Transfer-Encoding: chunked").append(eol);
                    chunked = true;
                }
                case 10 -> {
                    head.append("Transfer-Encoding: chunked").append(eol).append("Content-Length: ").append(body.length)
                            .append(eol);
                    chunked = true;
                }
                case 11 -> {
                    String coding = pick(new String[] {"gzip", "gzip, chunked", "garbage", "chunked, gzip", "identity",
                            "chunked, chunked", "x-custom"});
                    head.append("Transfer-Encoding: ").append(coding).append(eol);
                    unknownCoding = true;
                    chunked = coding.endsWith("chunked");
                }
                case 12 -> head.append("Expect: 100-continue").append(eol).append("Content-Length: ").append(body.length)
                        .append(eol);
                default -> {
                    // no length at all
                }
            }
            switch (rnd.nextInt(12)) {
                case 0 -> head.append("Bad Header: y").append(eol);
                case 1 -> head.append("NoColon").append(eol);
                case 2 -> head.append("X-Folded: a").append(eol).append(" continued").append(eol);
                case 3 -> head.append("X-Big: ").append("b".repeat(pick(new int[] {4000, 8000, 9000, 70_000}))).append(eol);
                case 4 -> head.append("X-Null: a\u0000b").append(eol);
                case 5 -> head.append(": empty-name").append(eol);
                case 6 -> head.append("X-Bin: ").append(new String(bytes(20), StandardCharsets.ISO_8859_1)).append(eol);
                case 7 -> {
                    for (int i = 0; i < 120; i++) {
                        head.append("X-Many-").append(i).append(": ").append(i).append(eol);
                    }
                }
                default -> {
                    // well-formed headers only
                }
            }
            if (rnd.nextInt(3) != 0) {
                head.append("Connection: close").append(eol);
            }
            head.append(eol);
            byte[] payload = body;
            if (chunked) {
                payload = rnd.nextInt(3) == 0 ? utf8(pick(new String[] {"zz\r\n", "5\r\nab\r\n0\r\n\r\n",
                        "-1\r\n\r\n", "FFFFFFFFFFFFFFFF\r\nx\r\n", "3;ext=\"\r\nabc\r\n0\r\n\r\n", "0\r\nX-Trailer: y\r\n\r\n",
                        "4\r\nabcd\r\n"})) : chunk(body);
                halfClose = halfClose || rnd.nextBoolean();
            }
            byte[] raw = concat(head.toString().getBytes(StandardCharsets.ISO_8859_1), payload);
            if (rnd.nextInt(40) == 0) {
                raw = bytes(1 + rnd.nextInt(2000));
            }
            return new Request(method, path, List.of(), null, false, raw, halfClose, pipelined, badVersion,
                    unknownCoding, validKey);
        }

        private String rawPath() {
            return pick(new String[] {"/v1/jobs with space", "/v1/jobs/\t", "/v1/jobs/a|b", "/v1/jobs/{x}",
                    "/v1/jobs/<script>", "/v1/jobs/\"", "/v1/jobs/\\..\\..\\", "/v1/jobs/\u00e9",
                    "/v1/jobs/" + new String(bytes(8), StandardCharsets.ISO_8859_1).replaceAll("[\\s]", "_"),
                    "*", "http://localhost/v1/jobs", "http://evil.example/v1/jobs", "v1/jobs", "", "/v1/jobs?a=b c",
                    "/v1/jobs/\u0000", "/v1/jobs/%", "//evil.example/v1/jobs", "/v1/jobs/" + "%41".repeat(3000),
                    "/v1/jobs#frag", "/v1/jobs/\u00ff\u00fe", "/v1/jobs/" + "a".repeat(8000 + rnd.nextInt(8000)),
                    "/v1/jobs?" + "a=1&".repeat(2000 + rnd.nextInt(2000))});
        }

        private static byte[] chunk(byte[] body) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (body.length > 0) {
                out.writeBytes(utf8(Integer.toHexString(body.length) + "\r\n"));
                out.writeBytes(body);
                out.writeBytes(utf8("\r\n"));
            }
            out.writeBytes(utf8("0\r\n\r\n"));
            return out.toByteArray();
        }

        // --- helpers

        private String object(Map<String, String> fields) {
            StringBuilder s = new StringBuilder("{");
            fields.forEach((k, v) -> {
                if (s.length() > 1) {
                    s.append(rnd.nextInt(20) == 0 ? " , " : ",");
                }
                s.append('"').append(k).append("\":").append(v);
            });
            return s.append('}').toString();
        }

        private String uuid() {
            return new UUID(rnd.nextLong(), rnd.nextLong()).toString();
        }

        private String token(int n) {
            String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~";
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < n; i++) {
                s.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            return s.toString();
        }

        private String printable(int n) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < n; i++) {
                char c = (char) (' ' + rnd.nextInt(95));
                s.append(c == '"' || c == '\\' ? 'q' : c);
            }
            return s.toString();
        }

        /** What a header value may hold: visible ASCII, spaces and tabs, and now and then a Latin-1 letter. */
        private String headerValue(int n) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < n; i++) {
                int r = rnd.nextInt(40);
                s.append(r == 0 ? (char) (0xA0 + rnd.nextInt(0x60)) : r == 1 ? '\t' : (char) (' ' + rnd.nextInt(95)));
            }
            return s.toString().strip();
        }

        /** Any characters at all: controls, quotes, non-ASCII, lone surrogates. */
        private String junk(int n) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < n; i++) {
                s.append(switch (rnd.nextInt(6)) {
                    case 0 -> (char) rnd.nextInt(32);
                    case 1 -> (char) (0x80 + rnd.nextInt(0x780));
                    case 2 -> (char) (0xD800 + rnd.nextInt(0x800));
                    default -> (char) (' ' + rnd.nextInt(95));
                });
            }
            return s.toString();
        }

        private String unicode(int n) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < n; i++) {
                int cp;
                do {
                    cp = switch (rnd.nextInt(4)) {
                        case 0 -> 0xA0 + rnd.nextInt(0x2000);
                        case 1 -> 0x4E00 + rnd.nextInt(0x5000);
                        case 2 -> 0x1F300 + rnd.nextInt(0x300);
                        default -> 0x10000 + rnd.nextInt(0xFFFF);
                    };
                } while (!Character.isDefined(cp) || Character.getType(cp) == Character.SURROGATE);
                s.appendCodePoint(cp);
            }
            return s.toString();
        }

        private static String percentEncoded(String s) {
            StringBuilder out = new StringBuilder();
            for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
                out.append('%').append(String.format(Locale.ROOT, "%02X", b & 0xff));
            }
            return out.toString();
        }

        private byte[] bytes(int n) {
            byte[] b = new byte[n];
            rnd.nextBytes(b);
            return b;
        }

        private String pick(String[] options) {
            return options[rnd.nextInt(options.length)];
        }

        private int pick(int[] options) {
            return options[rnd.nextInt(options.length)];
        }

        private static String quote(String s) {
            return "\"" + s + "\"";
        }

        private static byte[] utf8(String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }

        private static byte[] concat(byte[] a, byte[] b) {
            byte[] c = new byte[a.length + b.length];
            System.arraycopy(a, 0, c, 0, a.length);
            System.arraycopy(b, 0, c, a.length, b.length);
            return c;
        }

        static String escape(String s) {
            StringBuilder out = new StringBuilder();
            for (char c : s.toCharArray()) {
                if (c == '\r') {
                    out.append("\\r");
                } else if (c == '\n') {
                    out.append("\\n");
                } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || Character.isSurrogate(c)) {
                    out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                } else {
                    out.append(c);
                }
            }
            return out.toString();
        }
    }
}
