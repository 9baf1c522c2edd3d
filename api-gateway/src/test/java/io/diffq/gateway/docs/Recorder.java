package io.diffq.gateway.docs;

import io.diffq.gateway.support.Api;
import java.net.URI;
import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Sends requests to running gateways and keeps every answer with the operation it was for (method and path
 * template, as the API description names them), so a test can hold what the API did against what its
 * description says.
 */
final class Recorder {

    /** One answer: which gateway, which operation, and what came back. */
    record Call(String gateway, String method, String template, String path, Api.Response response) {

        int status() {
            return response.status();
        }

        String operation() {
            return method + " " + template;
        }

        @Override
        public String toString() {
            return gateway + ": " + method + " " + path + " -> " + response.status();
        }
    }

    private final List<Call> calls = new ArrayList<>();

    /**
     * Sends {@code method} to {@code template} with {@code {id}} replaced by {@code id}; {@code headers} are
     * name, value pairs; {@code body} is sent as JSON unless a Content-Type header says otherwise.
     */
    synchronized Api.Response call(String gateway, Api api, String method, String template, String id, String query,
            String body, String... headers) {
        String path = id == null ? template : template.replace("{id}", id);
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(api.base() + path + (query == null ? "" : query)));
        boolean typed = false;
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
            typed |= headers[i].equalsIgnoreCase("Content-Type");
        }
        if (body != null && !typed) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        Api.Response r = api.send(b);
        calls.add(new Call(gateway, method, template, path, r));
        return r;
    }

    synchronized List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The statuses answered to each operation, e.g. {@code "GET /v1/jobs/{id}" -> [200, 404]}. */
    synchronized Map<String, List<Integer>> statusesByOperation() {
        return calls.stream().collect(Collectors.groupingBy(Call::operation,
                Collectors.mapping(Call::status, Collectors.collectingAndThen(Collectors.toSet(),
                        s -> s.stream().sorted().toList()))));
    }
}
