package io.diffq.gateway.docs;

import io.swagger.v3.oas.models.SpecVersion;
import io.swagger.v3.oas.models.media.Schema;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Small factories for OpenAPI 3.1 (JSON Schema 2020-12) schemas, so the description reads as a table of fields
 * rather than as builder calls. Every schema is marked 3.1, where {@code type} is a set and {@code nullable} is
 * gone: fields the API leaves out when empty are simply not {@code required}.
 */
final class Json {

    private Json() {
    }

    static Schema<Object> of(String type, String description) {
        Schema<Object> s = new Schema<>();
        s.specVersion(SpecVersion.V31);
        s.types(Set.of(type));
        s.description(description);
        return s;
    }

    static Schema<Object> string(String description) {
        return of("string", description);
    }

    static Schema<Object> string(String format, String description) {
        return string(description).format(format);
    }

    static Schema<Object> dateTime(String description) {
        return string("date-time", description);
    }

    static Schema<Object> integer(String description) {
        return of("integer", description).format("int64");
    }

    static Schema<Object> integer(long minimum, long maximum, String description) {
        return integer(description).minimum(BigDecimal.valueOf(minimum)).maximum(BigDecimal.valueOf(maximum));
    }

    static Schema<Object> number(String description) {
        return of("number", description).format("double");
    }

    static Schema<Object> bool(String description) {
        return of("boolean", description);
    }

    static Schema<Object> enumOf(List<String> values, String description) {
        Schema<Object> s = string(description);
        s.setEnum(new ArrayList<>(values));
        return s;
    }

    static Schema<Object> array(Schema<?> items, String description) {
        Schema<Object> s = of("array", description);
        s.items(items);
        return s;
    }

    /** A reference to a schema of {@code components.schemas}. */
    static Schema<Object> ref(String component) {
        Schema<Object> s = new Schema<>();
        s.specVersion(SpecVersion.V31);
        s.$ref("#/components/schemas/" + component);
        return s;
    }

    /** A reference with a description of its own (3.1 allows siblings of {@code $ref}). */
    static Schema<Object> ref(String component, String description) {
        return ref(component).description(description);
    }

    /** An object with exactly these properties (in this order); {@code required} lists those always present. */
    static Schema<Object> object(String description, Map<String, Schema<?>> properties, String... required) {
        Schema<Object> s = of("object", description);
        s.properties(new LinkedHashMap<>(properties));
        if (required.length > 0) {
            s.required(List.of(required));
        }
        return s;
    }

    /** Properties in the order given (a {@link Map#of} would shuffle them). */
    static Map<String, Schema<?>> fields(Object... nameThenSchema) {
        Map<String, Schema<?>> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenSchema.length; i += 2) {
            m.put((String) nameThenSchema[i], (Schema<?>) nameThenSchema[i + 1]);
        }
        return m;
    }
}
