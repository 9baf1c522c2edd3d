package io.diffq.chaos;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Sends one request to a gateway and records it with its answer in the history: every request ends as an
 * {@link Op}, answered or not. A request gets {@link #TIMEOUT_MS} (plus any {@code Prefer: wait}) to be answered:
 * the longest pause the nemesis injects (20 s) plus the gateway's own bounded waits, with room to spare.
 */
final class RecordingClient {

    static final long TIMEOUT_MS = 45_000;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final ChaosCluster cluster;
    private final History history;

    RecordingClient(ChaosCluster cluster, History history) {
        this.cluster = cluster;
        this.history = history;
    }

    /** A submit; {@code idempotencyKey} and {@code waitSeconds} (0: none) are optional. */
    Op submit(int client, String phase, int gateway, String apiKey, String idempotencyKey, String prompt, String body,
            int waitSeconds) {
        HttpRequest.Builder b = request(gateway, apiKey, "/v1/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (idempotencyKey != null) {
            b.header("Idempotency-Key", idempotencyKey);
        }
        if (waitSeconds > 0) {
            b.header("Prefer", "wait=" + waitSeconds);
        }
        return send(new Pending(client, phase, Op.Kind.SUBMIT, gateway, apiKey, idempotencyKey, prompt, null),
                b, TIMEOUT_MS + waitSeconds * 1000L);
    }

    Op poll(int client, String phase, int gateway, String apiKey, String jobId) {
        return send(new Pending(client, phase, Op.Kind.POLL, gateway, apiKey, null, null, jobId),
                request(gateway, apiKey, "/v1/jobs/" + jobId).GET(), TIMEOUT_MS);
    }

    Op cancel(int client, String phase, int gateway, String apiKey, String jobId) {
        return send(new Pending(client, phase, Op.Kind.CANCEL, gateway, apiKey, null, null, jobId),
                request(gateway, apiKey, "/v1/jobs/" + jobId).DELETE(), TIMEOUT_MS);
    }

    Op image(int client, String phase, int gateway, String apiKey, String jobId) {
        return send(new Pending(client, phase, Op.Kind.IMAGE, gateway, apiKey, null, null, jobId),
                request(gateway, apiKey, "/v1/jobs/" + jobId + "/image").GET(), TIMEOUT_MS);
    }

    private HttpRequest.Builder request(int gateway, String apiKey, String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cluster.gatewayPort(gateway) + path))
                .header("Authorization", "Bearer " + ChaosCluster.API_KEYS.get(apiKey));
    }

    /** What is known of a request before its answer. */
    private record Pending(int client, String phase, Op.Kind kind, int gateway, String apiKey, String idempotencyKey,
            String prompt, String jobId) {
    }

    private Op send(Pending p, HttpRequest.Builder b, long timeoutMs) {
        long start = System.currentTimeMillis();
        CompletableFuture<HttpResponse<byte[]>> answer = http.sendAsync(b.build(),
                HttpResponse.BodyHandlers.ofByteArray());
        Op op;
        try {
            HttpResponse<byte[]> r = answer.get(timeoutMs, TimeUnit.MILLISECONDS);
            op = answered(p, start, timeoutMs, r);
        } catch (TimeoutException e) {
            answer.cancel(true);
            op = failed(p, start, timeoutMs, Op.Outcome.TIMEOUT);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            boolean refused = cause instanceof ConnectException || cause instanceof HttpConnectTimeoutException;
            op = failed(p, start, timeoutMs, refused ? Op.Outcome.REFUSED : Op.Outcome.IO_ERROR);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            op = failed(p, start, timeoutMs, Op.Outcome.IO_ERROR);
        }
        history.add(op);
        return op;
    }

    private static Op answered(Pending p, long start, long timeoutMs, HttpResponse<byte[]> r) {
        long end = System.currentTimeMillis();
        int status = r.statusCode();
        String jobId = p.jobId();
        String state = null;
        int attempt = 0;
        String sha = null;
        if (p.kind() == Op.Kind.IMAGE && status == 200) {
            sha = ChaosCluster.sha256(r.body());
        } else if (status / 100 == 2 && isJson(r)) {
            JsonNode json = JSON.readTree(r.body());
            if (p.kind() == Op.Kind.SUBMIT) {
                jobId = json.path("id").asString(null);
            }
            // A 202 to a submit always says QUEUED without reading the status view: not an observation.
            if (!(p.kind() == Op.Kind.SUBMIT && status == 202)) {
                state = json.path("state").asString(null);
                attempt = json.path("attempt").asInt(0);
            }
        }
        return new Op(p.client(), p.phase(), p.kind(), p.gateway(), p.apiKey(), p.idempotencyKey(), p.prompt(), jobId,
                start, end, timeoutMs, Op.Outcome.ANSWERED, status, r.headers().firstValue("Retry-After").isPresent(),
                "true".equals(r.headers().firstValue("Idempotency-Replayed").orElse("false")), state, attempt, sha);
    }

    private static boolean isJson(HttpResponse<byte[]> r) {
        return r.headers().firstValue("Content-Type").map(t -> t.contains("json")).orElse(false);
    }

    private static Op failed(Pending p, long start, long timeoutMs, Op.Outcome outcome) {
        return new Op(p.client(), p.phase(), p.kind(), p.gateway(), p.apiKey(), p.idempotencyKey(), p.prompt(),
                p.jobId(), start, System.currentTimeMillis(), timeoutMs, outcome, -1, false, false, null, 0, null);
    }
}
