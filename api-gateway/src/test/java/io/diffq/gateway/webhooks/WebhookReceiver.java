package io.diffq.gateway.webhooks;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.BiFunction;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A webhook receiver as a user would write one, on a real HTTP server on a free loopback port: it verifies each
 * delivery's signature as the Standard Webhooks specification tells receivers to (recompute the HMAC under its own
 * secret, compare in constant time, refuse a timestamp more than five minutes off) and answers what the test's
 * behaviour says for the path and the try of that {@code webhook-id}.
 */
final class WebhookReceiver implements AutoCloseable {

    private static final Duration TOLERANCE = Duration.ofMinutes(5);

    /**
     * One request received.
     *
     * @param path      the request path
     * @param id        {@code webhook-id}
     * @param timestamp {@code webhook-timestamp}
     * @param verified  whether the signature and the timestamp checked out
     * @param body      the body
     * @param answered  the status answered
     */
    record Received(String path, String id, String timestamp, boolean verified, String body, int answered) {
    }

    private final HttpServer server;
    private final java.util.concurrent.ExecutorService threads = Executors.newFixedThreadPool(4);
    private final byte[] key;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final Map<String, Integer> tries = new ConcurrentHashMap<>();
    private volatile BiFunction<String, Integer, Integer> behaviour = (path, attempt) -> 200;

    /** @param secret the {@code whsec_} secret the receiver was given */
    WebhookReceiver(String secret) {
        this.key = Base64.getDecoder().decode(secret.substring("whsec_".length()));
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /** What to answer: from the path and the try (1, 2...) of the delivery's {@code webhook-id}. */
    void answer(BiFunction<String, Integer, Integer> behaviour) {
        this.behaviour = behaviour;
    }

    int port() {
        return server.getAddress().getPort();
    }

    String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    List<Received> received(String path) {
        return received.stream().filter(r -> r.path().equals(path)).toList();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body = exchange.getRequestBody().readAllBytes();
            String id = exchange.getRequestHeaders().getFirst("webhook-id");
            String timestamp = exchange.getRequestHeaders().getFirst("webhook-timestamp");
            String signatures = exchange.getRequestHeaders().getFirst("webhook-signature");
            boolean verified = "POST".equals(exchange.getRequestMethod()) && verify(id, timestamp, signatures, body);
            String path = exchange.getRequestURI().getPath();
            int attempt = tries.merge(path + " " + id, 1, Integer::sum);
            int status = verified ? behaviour.apply(path, attempt) : 401;
            if (status == 302) {
                exchange.getResponseHeaders().add("Location", url("/redirect-target"));
            }
            received.add(new Received(path, id, timestamp, verified, new String(body, StandardCharsets.UTF_8), status));
            exchange.sendResponseHeaders(status, -1);
        }
    }

    private boolean verify(String id, String timestamp, String signatures, byte[] body) {
        if (id == null || timestamp == null || signatures == null) {
            return false;
        }
        long at;
        try {
            at = Long.parseLong(timestamp);
        } catch (NumberFormatException e) {
            return false;
        }
        if (Duration.between(Instant.ofEpochSecond(at), Instant.now()).abs().compareTo(TOLERANCE) > 0) {
            return false;
        }
        byte[] expected;
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            expected = mac.doFinal((id + "." + timestamp + "." + new String(body, StandardCharsets.UTF_8))
                    .getBytes(StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        for (String signature : signatures.split(" ")) {
            if (signature.startsWith("v1,") && MessageDigest.isEqual(expected,
                    Base64.getDecoder().decode(signature.substring(3)))) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
