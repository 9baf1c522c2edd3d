package io.diffq.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.gateway.support.Api;
import io.diffq.gateway.support.Gateway;
import io.diffq.testing.KafkaBrokerExtension;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Clients that hold connections without finishing a request (slowloris) or without sending anything never keep a
 * normal client out (issue 11, defect 4). The gateway runs with the connector settings it ships with
 * ({@code application.yml}); raw sockets play the slow clients.
 *
 * <p>A slow client here opens {@link #SLOW} connections, more than the cap of the mutation this test is meant to
 * catch ({@code server.tomcat.max-connections=500}) and few enough for any CI machine's file limit (each
 * connection is two descriptors in this JVM, client and server side). How many the gateway holds, with latency and
 * memory, is measured by {@code infra/bench/bench.sh --scenarios abuse} (8,000: docs/benchmarks.md,
 * "Connection abuse, measured").
 */
@Tag("abuse")
class SlowClientsIntegrationTests {

    /** Slow connections held while the normal client works. */
    private static final int SLOW = 1200;
    /** The connector's connection timeout in application.yml: how long the gateway waits on a silent client. */
    private static final Duration CONNECTION_TIMEOUT = Duration.ofSeconds(10);

    @RegisterExtension
    static final KafkaBrokerExtension kafka = new KafkaBrokerExtension();

    private static Gateway gateway;
    private static Api api;

    private final List<Socket> sockets = new ArrayList<>();

    @BeforeAll
    static void start() {
        gateway = Gateway.start(kafka.bootstrapServers(), Gateway.SERVED_MODELS,
                "diffq.gateway.security.rate-limit.enabled=false");
        api = gateway.api();
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    @AfterEach
    void closeSockets() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        sockets.clear();
    }

    @Test
    void aConnectionThatSendsNothingOrStopsMidRequestIsClosedAfterTheConnectionTimeout() throws Exception {
        Socket silent = open();
        Socket halfLine = open();
        halfLine.getOutputStream().write("GET /v1/jobs/".getBytes(StandardCharsets.US_ASCII));
        halfLine.getOutputStream().flush();
        Socket halfHeaders = open();
        halfHeaders.getOutputStream().write("GET /actuator HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
        halfHeaders.getOutputStream().flush();

        long start = System.nanoTime();
        long deadline = start + CONNECTION_TIMEOUT.plusSeconds(8).toNanos();
        for (Socket s : List.of(silent, halfLine, halfHeaders)) {
            assertThat(closedByServer(s, deadline)).as("the gateway closed a connection that went quiet").isTrue();
            // Not much sooner than the timeout either: a client on a slow link gets that long for each read.
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(CONNECTION_TIMEOUT.minusSeconds(2));
        }
    }

    @Test
    void aNormalClientIsServedWhileManySlowConnectionsAreOpen() throws Exception {
        String id = api.submit("{\"prompt\":\"a lighthouse\"}").json().get("id").asString();
        ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
        try {
            for (int i = 0; i < SLOW; i++) {
                Socket s = open();
                s.getOutputStream().write(("GET /v1/jobs/" + id + " HTTP/1.1\r\nHost: x\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
            }
            // A header line to each, every 3 s (within the connection timeout), so none of them is ever done.
            trickle.scheduleAtFixedRate(() -> {
                for (Socket s : sockets) {
                    try {
                        s.getOutputStream().write("X-Slow: y\r\n".getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException closed) {
                        // counted below: the gateway must not have closed any
                    }
                }
            }, 3, 3, TimeUnit.SECONDS);

            // Each GET on a new connection, as a client behind a connection-per-request proxy would: a cap on
            // connections held by the slow ones would make it wait for the accept queue, and time out.
            for (int i = 0; i < 20; i++) {
                HttpClient fresh = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
                HttpResponse<String> r = fresh.send(HttpRequest.newBuilder(URI.create(api.base() + "/v1/jobs/" + id))
                        .timeout(Duration.ofSeconds(3)).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).contains("\"state\":\"QUEUED\"");
            }

            // The slow connections are still open (the gateway did not get rid of them by closing everyone).
            Thread.sleep(500);
            assertThat(sockets.stream().filter(SlowClientsIntegrationTests::stillOpen).count()).isEqualTo(SLOW);
        } finally {
            trickle.shutdownNow();
        }
    }

    private Socket open() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", URI.create(api.base()).getPort()), 3000);
        sockets.add(s);
        return s;
    }

    /** Whether the server closed the connection (end of stream or reset) before the deadline (nanoTime). */
    private static boolean closedByServer(Socket s, long deadline) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        while (System.nanoTime() < deadline) {
            s.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            try {
                if (in.read(buf) < 0) {
                    return true;
                }
            } catch (SocketTimeoutException stillOpen) {
                return false;
            } catch (IOException reset) {
                return true;
            }
        }
        return false;
    }

    /** Whether nothing has been read from a connection and it was not closed by the server. */
    private static boolean stillOpen(Socket s) {
        try {
            s.setSoTimeout(1);
            s.getInputStream().read();
            return false; // an answer or the end of the stream: the server is done with it
        } catch (SocketTimeoutException nothingYet) {
            return true;
        } catch (IOException closed) {
            return false;
        }
    }
}
