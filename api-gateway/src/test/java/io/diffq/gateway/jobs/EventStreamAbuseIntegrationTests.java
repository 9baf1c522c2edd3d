package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.gateway.support.WorkerStandIn;
import io.diffq.testing.KafkaBrokerExtension;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Event-stream clients that misbehave (stop reading, vanish, open too many) never freeze, slow or starve
 * anyone else (issue 11, defects 1 and 3). Raw sockets play the bad clients, so nothing in a client library
 * reads on their behalf.
 */
@Tag("abuse")
class EventStreamAbuseIntegrationTests {

    private static final int PER_CLIENT = 6;
    private static final int STEPS = 2500;

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    private static Gateway gateway;
    private static WorkerStandIn worker;
    private static Api api;
    private static Api management;

    private final List<Socket> sockets = new ArrayList<>();

    @BeforeAll
    static void start() {
        gateway = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.enabled=false",
                "diffq.gateway.streams.heartbeat=500ms",
                "diffq.gateway.streams.stall-timeout=3s",
                "diffq.gateway.streams.max-per-client=" + PER_CLIENT);
        worker = new WorkerStandIn(kafka.bootstrapServers());
        api = gateway.api();
        management = gateway.managementApi();
    }

    @AfterAll
    static void stop() {
        worker.close();
        gateway.close();
    }

    @AfterEach
    void closeSockets() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> metric("diffq_gateway_streams_open") == 0);
    }

    @Test
    void streamClientsThatStopReadingFreezeNoOneAndAreClosed() throws Exception {
        String big = "x".repeat(1000);
        String watched = submit("{\"prompt\":\"" + big + "\",\"negativePrompt\":\"" + big + "\"}");
        List<Socket> stuck = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            stuck.add(openStream(watched, 1024));
        }
        double stalledBefore = metric("diffq_gateway_streams_closed_total{reason=\"stalled\"}");
        // More than the socket buffers of a client that never reads hold (about 1.7 MB on Linux loopback,
        // where the sender's buffer grows to 4 MB): every event carries both prompts, about 2.5 KB.
        worker.progress(watched, STEPS);

        // Everyone else's jobs still move through the view while those clients sit on full sockets.
        String other = submit("{\"prompt\":\"someone else\"}");
        worker.succeed(other, new byte[] {1});
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                api.get("/v1/jobs/" + other).json().get("state").asString()).isEqualTo("SUCCEEDED"));
        assertThat(api.get("/v1/jobs/" + watched).json().get("progress").get("step").asInt()).isEqualTo(STEPS);
        assertThat(api.get("/v1/jobs/" + UUID.randomUUID()).status()).isEqualTo(404);

        // A reading client of the same job still gets its latest status, coalesced, not a backlog.
        try (Socket reader = openStream(watched, 0)) {
            String first = readUntil(reader, "\n\n", Duration.ofSeconds(5));
            assertThat(first).contains("event: status").contains("\"step\":" + STEPS + ",");
        }

        // The stuck ones are closed once the stall timeout passes; what they had not read is dropped.
        await().atMost(Duration.ofSeconds(15)).until(() ->
                metric("diffq_gateway_streams_closed_total{reason=\"stalled\"}") - stalledBefore >= 3);
        // Their sockets go too, once the connector's write timeout (10 s) passes on what they did not take.
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        for (Socket s : stuck) {
            assertThat(drainsToEndOfStream(s, deadline)).as("the gateway closed the stalled stream's socket").isTrue();
        }
    }

    @Test
    void streamsDroppedByTheirClientsAreNoticedByTheHeartbeatAndFreeTheClientsQuota() throws Exception {
        String queued = submit("{\"prompt\":\"nobody runs this\"}");
        // A client opens its whole quota of streams of a queued job (no events will come) and vanishes.
        for (int i = 0; i < PER_CLIENT; i++) {
            assertThat(readUntil(openStream(queued, 0), "event: status", Duration.ofSeconds(5))).startsWith("HTTP/1.1 200");
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(metric("diffq_gateway_streams_open")).isEqualTo(PER_CLIENT));
        for (Socket s : sockets) {
            s.close();
        }
        sockets.clear();
        await().atMost(Duration.ofSeconds(10)).until(() -> metric("diffq_gateway_streams_open") == 0);

        // The quota is free again, and a quiet stream is kept alive by heartbeat comments.
        Socket again = openStream(queued, 0);
        String head = readUntil(again, "event: status", Duration.ofSeconds(5));
        assertThat(head).startsWith("HTTP/1.1 200").containsIgnoringCase("content-type: text/event-stream");
        // A comment line of its own ("\n:\n\n", after the chunk size), well within the 5 s.
        readUntil(again, "\n:\n\n", Duration.ofSeconds(5));
    }

    @Test
    void aClientPastItsStreamQuotaGetsA429ProblemAndTheOthersDoNot() throws Exception {
        String queued = submit("{\"prompt\":\"watched a lot\"}");
        for (int i = 0; i < PER_CLIENT; i++) {
            Socket s = openStream(queued, 0);
            assertThat(readUntil(s, "event: status", Duration.ofSeconds(5))).startsWith("HTTP/1.1 200");
        }
        Api.Response refused = api.get("/v1/jobs/" + queued + "/events");
        assertThat(refused.status()).isEqualTo(429);
        assertThat(refused.contentType()).startsWith("application/problem+json");
        assertThat(refused.json().get("type").asString()).isEqualTo("https://diffq.io/problems/too-many-streams");
        assertThat(refused.headers().firstValue("Retry-After")).isPresent();
        // Polling is not a stream: the same client still polls.
        assertThat(api.get("/v1/jobs/" + queued).status()).isEqualTo(200);

        // Once one stream ends, the client may open another.
        sockets.remove(0).close();
        await().atMost(Duration.ofSeconds(10)).until(() -> metric("diffq_gateway_streams_open") == PER_CLIENT - 1);
        Socket another = openStream(queued, 0);
        assertThat(readUntil(another, "event: status", Duration.ofSeconds(5))).startsWith("HTTP/1.1 200");
    }

    private static String submit(String body) {
        Api.Response r = api.submit(body);
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        return r.json().get("id").asString();
    }

    /** Opens {@code GET /v1/jobs/{id}/events} on a raw socket; a receive buffer of 0 leaves the system's. */
    private Socket openStream(String id, int receiveBuffer) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer);
        }
        s.connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(api.base().replaceAll(".*:", ""))), 5000);
        sockets.add(s);
        OutputStream out = s.getOutputStream();
        out.write(("GET /v1/jobs/" + id + "/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return s;
    }

    /** What the socket delivers until {@code marker} has been read (CRLFs as LFs, chunk sizes left in). */
    private static String readUntil(Socket s, String marker, Duration timeout) throws IOException {
        StringBuilder text = new StringBuilder();
        long end = System.nanoTime() + timeout.toNanos();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[8192];
        while (text.indexOf(marker) < 0) {
            long left = (end - System.nanoTime()) / 1_000_000;
            assertThat(left).as("'%s' within %s; got: %s", marker, timeout, text).isPositive();
            s.setSoTimeout((int) left);
            int n;
            try {
                n = in.read(buf);
            } catch (SocketTimeoutException e) {
                continue;
            }
            assertThat(n).as("stream ended before '%s'; got: %s", marker, text).isPositive();
            text.append(new String(buf, 0, n, StandardCharsets.UTF_8).replace("\r\n", "\n"));
        }
        return text.toString();
    }

    /** Reads everything the socket still holds; whether the other side closed it by {@code end} (nanoTime). */
    private static boolean drainsToEndOfStream(Socket s, long end) throws IOException {
        byte[] buf = new byte[65536];
        InputStream in = s.getInputStream();
        while (System.nanoTime() < end) {
            s.setSoTimeout(500);
            try {
                if (in.read(buf) < 0) {
                    return true;
                }
            } catch (SocketTimeoutException e) {
                // still open
            } catch (IOException reset) {
                return true;
            }
        }
        return false;
    }

    private static double metric(String series) {
        String text = management.get("/actuator/prometheus").text();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series.contains("{")
                ? series.substring(0, series.indexOf('{')) : series) + "\\{(.*)} (\\S+)$").matcher(text);
        String wanted = series.contains("{") ? series.substring(series.indexOf('{') + 1, series.length() - 1) : "";
        while (m.find()) {
            if (m.group(1).contains(wanted)) {
                return Double.parseDouble(m.group(2));
            }
        }
        return 0;
    }
}
