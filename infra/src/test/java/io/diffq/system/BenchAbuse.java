package io.diffq.system;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code abuse} scenario: what a normal client sees while one host attacks the gateway's connections.
 * A slowloris opens thousands of connections and sends its headers a line every few seconds (never
 * finishing a request); a stream dropper opens event streams and abandons them. Throughout, a normal
 * client polls a job with {@code GET}: its latency and failures are the result, with the gateway's memory.
 */
final class BenchAbuse {

    private static final byte[] REQUEST_START = ("GET /v1/jobs HTTP/1.1\r\nHost: localhost\r\n")
            .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HEADER_LINE = "X-Slow: 1\r\n".getBytes(StandardCharsets.US_ASCII);

    private final int port;
    private final ServiceProcess gateway;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    BenchAbuse(int port, ServiceProcess gateway) {
        this.port = port;
        this.gateway = gateway;
    }

    Map<String, Object> run(int connections, Duration attack, int streams) throws Exception {
        String id = submit();
        Map<String, Object> runs = new LinkedHashMap<>();
        runs.put("baseline", probe(id, Duration.ofSeconds(10), Map.of()));
        runs.put("slowloris", slowloris(id, connections, attack));
        runs.put("after-slowloris", probe(id, Duration.ofSeconds(10), Map.of()));
        runs.put("dropped-streams", droppedStreams(id, streams));
        return runs;
    }

    /** {@code connections} connections that send a header line each every 5 s, while a client polls. */
    private Map<String, Object> slowloris(String id, int connections, Duration attack) throws Exception {
        long rssBefore = gateway.residentKib();
        List<Socket> open = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread trickle = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                for (Socket s : open) {
                    try {
                        s.getOutputStream().write(HEADER_LINE);
                    } catch (IOException e) {
                        // closed by the gateway: it gave up on this one
                    }
                }
                try {
                    Thread.sleep(5000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "slowloris");
        trickle.setDaemon(true);
        trickle.start();
        int refused = 0;
        int refusedInARow = 0;
        List<Socket> opening = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            Socket s = new Socket();
            try {
                // A connection the gateway has no room for waits in the accept backlog; past it, refused.
                s.connect(new InetSocketAddress("127.0.0.1", port), 250);
                s.getOutputStream().write(REQUEST_START);
                opening.add(s);
            } catch (IOException e) {
                refused++;
                s.close();
                if (++refusedInARow == 20) {
                    break; // the gateway takes no more: the attack is as big as it gets
                }
                continue;
            }
            refusedInARow = 0;
            // Handed to the trickle in batches (a copy-on-write list grows by copying).
            if (opening.size() == 200) {
                open.addAll(opening);
                opening.clear();
            }
        }
        open.addAll(opening);
        Bench.log("slowloris: %d connections open, %d refused", open.size(), refused);
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("connectionsOpened", open.size());
        extra.put("connectionsRefused", refused);
        extra.put("gatewayRssBeforeKib", rssBefore);
        Map<String, Object> r = probe(id, attack, extra);
        r.put("gatewayRssDuringKib", gateway.residentKib());
        long closedByGateway = open.stream().filter(BenchAbuse::closedByPeer).count();
        r.put("connectionsClosedByGateway", closedByGateway);
        trickle.interrupt();
        for (Socket s : open) {
            s.close();
        }
        return r;
    }

    /** {@code streams} event streams opened and dropped without reading, then a client polls. */
    private Map<String, Object> droppedStreams(String id, int streams) throws Exception {
        int ok = 0;
        int refused = 0;
        for (int i = 0; i < streams; i++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write(("GET /v1/jobs/" + id + "/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                byte[] head = new byte[12];
                InputStream in = s.getInputStream();
                int n = in.readNBytes(head, 0, head.length);
                String status = new String(head, 0, n, StandardCharsets.US_ASCII);
                if (status.startsWith("HTTP/1.1 200")) {
                    ok++;
                } else if (status.startsWith("HTTP/1.1 429")) {
                    refused++;
                }
            } catch (IOException e) {
                refused++;
            }
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("streamsOpenedAndDropped", ok);
        extra.put("streamsRefused429", refused);
        return probe(id, Duration.ofSeconds(10), extra);
    }

    /**
     * A normal client polling one job for {@code duration}: latency of each {@code GET} (connect to the end
     * of the answer; 5 s at most) and failures.
     */
    private Map<String, Object> probe(String id, Duration duration, Map<String, Object> extra) throws Exception {
        List<Double> millis = new ArrayList<>();
        int failed = 0;
        long end = System.nanoTime() + duration.toNanos();
        byte[] request = ("GET /v1/jobs/" + id + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            // A new connection each time, as a new client makes: a kept-alive one would dodge a connection cap.
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                s.setSoTimeout(5000);
                s.getOutputStream().write(request);
                byte[] answer = s.getInputStream().readAllBytes();
                if (new String(answer, 0, Math.min(12, answer.length), StandardCharsets.US_ASCII)
                        .equals("HTTP/1.1 200")) {
                    millis.add((System.nanoTime() - t0) / 1e6);
                } else {
                    failed++;
                }
            } catch (IOException e) {
                failed++;
            }
            Thread.sleep(20);
        }
        Map<String, Object> r = new LinkedHashMap<>(extra);
        r.put("normalClientGetMs", LatencyStats.of(millis));
        r.put("normalClientFailures", failed);
        r.put("gatewayPeakRssKib", gateway.peakResidentKib());
        return r;
    }

    private String submit() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base() + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"abuse probe\",\"width\":8,\"height\":8}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        Matcher m = Pattern.compile("\"id\":\"([0-9a-f-]{36})\"").matcher(r.body());
        if (!m.find()) {
            throw new IllegalStateException("submit failed: " + r.statusCode() + " " + r.body());
        }
        return m.group(1);
    }

    private static boolean closedByPeer(Socket s) {
        try {
            s.setSoTimeout(1);
            s.getInputStream().read(); // an error answer or the end of the stream: the gateway let go of it
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private String base() {
        return "http://127.0.0.1:" + port;
    }
}
