package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The bench's light HTTP client against the JDK's own server: answers of a known length, chunked ones and empty
 * ones read to their end on one kept-alive connection (a byte left unread or read too many would spoil the next
 * answer's status line), and a new connection after the server closes one.
 */
class BenchConnectionTests {

    private static final byte[] BIG = "x".repeat(100_000).getBytes(StandardCharsets.US_ASCII);

    private HttpServer server;
    private final List<Integer> clientPorts = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/fixed", e -> answer(e, 200, "{\"state\":\"QUEUED\"}".getBytes(StandardCharsets.UTF_8),
                false));
        server.createContext("/chunked", e -> answer(e, 200, BIG, true));
        server.createContext("/missing", e -> {
            clientPorts.add(e.getRemoteAddress().getPort());
            e.sendResponseHeaders(404, -1);
            e.close();
        });
        server.createContext("/closing", e -> {
            e.getResponseHeaders().add("Connection", "close");
            answer(e, 503, new byte[] {'n', 'o'}, false);
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void answersOfEveryFramingAreReadToTheirEndOnOneConnection() throws IOException {
        try (BenchConnection c = new BenchConnection("127.0.0.1", server.getAddress().getPort(), 5_000)) {
            for (int i = 0; i < 3; i++) {
                assertThat(c.get("/fixed")).isEqualTo(200);
                assertThat(c.get("/chunked")).isEqualTo(200);
                assertThat(c.get("/missing")).isEqualTo(404);
            }
        }
        assertThat(clientPorts).hasSize(9).containsOnly(clientPorts.get(0));
    }

    @Test
    void aConnectionTheServerClosesIsOpenedAgain() throws IOException {
        try (BenchConnection c = new BenchConnection("127.0.0.1", server.getAddress().getPort(), 5_000)) {
            assertThat(c.get("/closing")).isEqualTo(503);
            assertThat(c.get("/fixed")).isEqualTo(200);
            assertThat(c.get("/closing")).isEqualTo(503);
            assertThat(c.get("/fixed")).isEqualTo(200);
        }
        // Closed after the first answer; the second connection serves the next two, then is closed too.
        assertThat(clientPorts).hasSize(4);
        assertThat(clientPorts.get(1)).isEqualTo(clientPorts.get(2)).isNotEqualTo(clientPorts.get(0));
        assertThat(clientPorts.get(3)).isNotIn(clientPorts.get(0), clientPorts.get(1));
    }

    @Test
    void anAnswerCutShortIsAnError() throws Exception {
        try (ServerSocket raw = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread peer = new Thread(() -> {
                try (Socket s = raw.accept()) {
                    s.getInputStream().read(new byte[1024]);
                    // Ten bytes announced, two sent, then the connection ends.
                    s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"
                            .getBytes(StandardCharsets.US_ASCII));
                } catch (IOException ignored) {
                    // the test sees what the client saw
                }
            });
            peer.start();
            try (BenchConnection c = new BenchConnection("127.0.0.1", raw.getLocalPort(), 5_000)) {
                assertThatThrownBy(() -> c.get("/short")).isInstanceOf(EOFException.class);
            }
            peer.join();
        }
    }

    private void answer(com.sun.net.httpserver.HttpExchange e, int status, byte[] body, boolean chunked)
            throws IOException {
        clientPorts.add(e.getRemoteAddress().getPort());
        e.sendResponseHeaders(status, chunked ? 0 : body.length);
        try (OutputStream out = e.getResponseBody()) {
            out.write(body);
        }
    }
}
