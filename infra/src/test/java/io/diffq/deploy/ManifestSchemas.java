package io.diffq.deploy;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.keyword.NonValidationKeyword;
import io.diffq.deploy.Manifests.K8sObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The JSON schemas under infra/k8s/schemas (their README says where each comes from), found by an object's
 * apiVersion and kind: {@code <group>/<kind>_<version>.json}, the core group as {@code core}.
 */
final class ManifestSchemas {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /**
     * Kubernetes' own keywords (list and map semantics for server-side apply, int-or-string, CEL rules): the
     * API server acts on them, a JSON schema validator cannot; known here so that they pass without a warning.
     */
    private static final List<String> KUBERNETES_KEYWORDS = List.of("x-kubernetes-embedded-resource",
            "x-kubernetes-group-version-kind", "x-kubernetes-int-or-string", "x-kubernetes-list-map-keys",
            "x-kubernetes-list-type", "x-kubernetes-map-type", "x-kubernetes-patch-merge-key",
            "x-kubernetes-patch-strategy", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-unions",
            "x-kubernetes-validations", "example");

    // The schemas carry no $schema (vendor.sh drops a URI the validator does not know); they are draft 4/7 style.
    private final SchemaRegistry registry = SchemaRegistry.withDefaultDialect(Dialect.builder(Dialects.getDraft7())
            .keywords(KUBERNETES_KEYWORDS.stream().map(NonValidationKeyword::new).toList())
            .build());
    private final Map<Path, KindSchema> schemas = new HashMap<>();
    private final Schema objectMeta;

    ManifestSchemas() {
        // Custom resources' schemas leave metadata open (as the API server does for CRDs): check it against
        // Kubernetes' ObjectMeta, taken from a core schema.
        JsonNode configMap = read(Manifests.SCHEMAS.resolve("core/configmap_v1.json"));
        objectMeta = registry.getSchema(configMap.path("properties").path("metadata"));
    }

    /** Where the schema of this apiVersion and kind lives, whether or not it exists. */
    static Path fileFor(String apiVersion, String kind) {
        int slash = apiVersion.indexOf('/');
        String group = slash < 0 ? "core" : apiVersion.substring(0, slash);
        String version = apiVersion.substring(slash + 1);
        return Manifests.SCHEMAS.resolve(group).resolve(kind.toLowerCase(Locale.ROOT) + "_" + version + ".json");
    }

    /** A kind's schema, and whether it leaves metadata unchecked (custom resources do). */
    private record KindSchema(Schema schema, boolean metadataOpen) {
    }

    /** The schema of this object's kind, if the repository has one. */
    private Optional<KindSchema> schemaOf(K8sObject object) {
        Path file = fileFor(object.apiVersion(), object.kind());
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        return Optional.of(schemas.computeIfAbsent(file, f -> {
            JsonNode json = read(f);
            return new KindSchema(registry.getSchema(json), !json.path("properties").path("metadata").has("properties"));
        }));
    }

    /**
     * What is wrong with {@code object} by its schema, one line per error ({@code kind name: path: message});
     * an object whose kind has no schema is one such error.
     */
    List<String> problems(K8sObject object) {
        Optional<KindSchema> schema = schemaOf(object);
        if (schema.isEmpty()) {
            return List.of(object + ": no schema for " + object.apiVersion() + " " + object.kind() + " (expected "
                    + Manifests.ROOT.relativize(fileFor(object.apiVersion(), object.kind())) + ")");
        }
        List<String> problems = new ArrayList<>();
        schema.get().schema().validate(object.json()).forEach(e -> problems.add(describe(object, "", e)));
        if (schema.get().metadataOpen()) {
            objectMeta.validate(object.json().path("metadata")).forEach(e -> problems.add(describe(object, "/metadata", e)));
        }
        return problems;
    }

    private static String describe(K8sObject object, String prefix, Error e) {
        return object + ": " + prefix + e.getInstanceLocation() + ": " + e.getMessage();
    }

    private static JsonNode read(Path file) {
        try {
            return JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
