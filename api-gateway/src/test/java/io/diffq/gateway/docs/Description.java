package io.diffq.gateway.docs;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import tools.jackson.databind.JsonNode;

/** An OpenAPI document as the gateway serves it, read the way a client generator would: operations, answers, schemas. */
final class Description {

    private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options");

    private final JsonNode doc;

    Description(JsonNode doc) {
        this.doc = doc;
    }

    JsonNode root() {
        return doc;
    }

    /** Every operation as {@code "METHOD /path/{template}"}. */
    List<String> operations() {
        List<String> ops = new ArrayList<>();
        for (String path : doc.get("paths").propertyNames()) {
            for (String method : doc.get("paths").get(path).propertyNames()) {
                if (METHODS.contains(method)) {
                    ops.add(method.toUpperCase() + " " + path);
                }
            }
        }
        return ops;
    }

    JsonNode operation(String operation) {
        String[] mp = operation.split(" ", 2);
        return doc.path("paths").path(mp[1]).path(mp[0].toLowerCase());
    }

    /** The statuses the operation documents, sorted. */
    List<Integer> statuses(String operation) {
        List<Integer> s = new ArrayList<>();
        operation(operation).path("responses").propertyNames().forEach(code -> s.add(Integer.parseInt(code)));
        return s.stream().sorted().toList();
    }

    JsonNode response(String operation, int status) {
        return operation(operation).path("responses").path(String.valueOf(status));
    }

    /** The media types of an answer. */
    Set<String> mediaTypes(String operation, int status) {
        return new TreeSet<>(response(operation, status).path("content").propertyNames());
    }

    /** The headers an answer must carry. */
    List<String> requiredHeaders(String operation, int status) {
        List<String> names = new ArrayList<>();
        JsonNode headers = response(operation, status).path("headers");
        for (String name : headers.propertyNames()) {
            if (headers.get(name).path("required").asBoolean(false)) {
                names.add(name);
            }
        }
        return names;
    }

    /** The problem types an error answer may carry, with their titles. */
    Map<String, String> problemKinds(String operation, int status) {
        Map<String, String> kinds = new LinkedHashMap<>();
        JsonNode examples = response(operation, status).path("content").path("application/problem+json").path("examples");
        for (String name : examples.propertyNames()) {
            JsonNode value = examples.get(name).get("value");
            kinds.put(value.get("type").asString(), value.get("title").asString());
        }
        return kinds;
    }

    /** The schema of an answer's body in {@code mediaType}, references resolved; a missing node when none. */
    JsonNode bodySchema(String operation, int status, String mediaType) {
        return resolve(response(operation, status).path("content").path(mediaType).path("schema"));
    }

    JsonNode schema(String component) {
        return doc.path("components").path("schemas").path(component);
    }

    /** The name of the component an answer's JSON body refers to, or {@code null}. */
    String component(String operation, int status, String mediaType) {
        String ref = response(operation, status).path("content").path(mediaType).path("schema").path("$ref").asString(null);
        return ref == null ? null : ref.substring(ref.lastIndexOf('/') + 1);
    }

    JsonNode resolve(JsonNode schema) {
        String ref = schema.path("$ref").asString(null);
        return ref == null ? schema : schema(ref.substring(ref.lastIndexOf('/') + 1));
    }

    /**
     * Every field a schema describes, as paths: {@code request.seed}, {@code errors[].field}. An object field is
     * listed and so are its fields; an array of objects lists its items' fields under {@code name[]}.
     */
    Set<String> fieldPaths(JsonNode schema) {
        Set<String> paths = new TreeSet<>();
        collect(resolve(schema), "", paths, 0);
        return paths;
    }

    private void collect(JsonNode schema, String prefix, Set<String> paths, int depth) {
        if (depth > 6) {
            return;
        }
        JsonNode properties = schema.path("properties");
        for (String name : properties.propertyNames()) {
            String path = prefix + name;
            paths.add(path);
            JsonNode field = resolve(properties.get(name));
            if (field.has("properties")) {
                collect(field, path + ".", paths, depth + 1);
            }
            JsonNode items = resolve(field.path("items"));
            if (items.has("properties")) {
                collect(items, path + "[].", paths, depth + 1);
            }
        }
    }

    /** The same paths of a real JSON body. */
    static Set<String> fieldPaths(JsonNode json, String prefix, Set<String> into) {
        if (json.isObject()) {
            for (String name : json.propertyNames()) {
                into.add(prefix + name);
                JsonNode v = json.get(name);
                if (v.isObject()) {
                    fieldPaths(v, prefix + name + ".", into);
                } else if (v.isArray()) {
                    for (JsonNode item : v) {
                        if (item.isObject()) {
                            fieldPaths(item, prefix + name + "[].", into);
                        }
                    }
                }
            }
        }
        return into;
    }
}
