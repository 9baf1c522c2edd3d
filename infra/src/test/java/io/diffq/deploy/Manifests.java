package io.diffq.deploy;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import io.diffq.observability.Repo;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MappingIterator;
import tools.jackson.dataformat.yaml.YAMLMapper;

/** The Kubernetes manifests under infra/k8s, and what {@code kubectl kustomize} renders of them. */
final class Manifests {

    static final Path ROOT = Repo.ROOT;
    static final Path K8S = ROOT.resolve("infra/k8s");
    static final Path OVERLAYS = K8S.resolve("overlays");
    static final Path SCHEMAS = K8S.resolve("schemas");

    private static final YAMLMapper YAML = YAMLMapper.builder().build();

    private Manifests() {
    }

    /** One object of a rendered kustomization. */
    record K8sObject(JsonNode json) {

        String apiVersion() {
            return json.path("apiVersion").asString();
        }

        String kind() {
            return json.path("kind").asString();
        }

        String name() {
            return json.path("metadata").path("name").asString();
        }

        @Override
        public String toString() {
            return kind() + " " + name();
        }
    }

    /** What one kustomization renders. */
    record Rendered(String name, List<K8sObject> objects) {

        List<K8sObject> ofKind(String kind) {
            return objects.stream().filter(o -> o.kind().equals(kind)).toList();
        }

        /** The objects that run pods: Deployments (the workers) and StatefulSets (the gateway). */
        List<K8sObject> workloads() {
            return objects.stream().filter(o -> o.kind().equals("Deployment") || o.kind().equals("StatefulSet"))
                    .toList();
        }

        K8sObject get(String kind, String name) {
            return find(kind, name).orElseThrow(() -> new AssertionError(this.name + " renders no " + kind + " " + name));
        }

        Optional<K8sObject> find(String kind, String name) {
            return objects.stream().filter(o -> o.kind().equals(kind) && o.name().equals(name)).findFirst();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** The overlays' names (the folders under infra/k8s/overlays), sorted. */
    static List<String> overlays() {
        try (Stream<Path> dirs = Files.list(OVERLAYS)) {
            return dirs.filter(d -> Files.exists(d.resolve("kustomization.yaml")))
                    .map(d -> d.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Renders infra/k8s/{@code relative} with {@code kubectl kustomize}; skips the test without kubectl. */
    static Rendered render(String relative) {
        Path kubectl = Repo.executable("kubectl").orElse(null);
        assumeTrue(kubectl != null, "kubectl not installed: the manifests are rendered with `kubectl kustomize` "
                + "(kubectl 1.32 or later, https://kubernetes.io/docs/tasks/tools/)");
        List<String> command = List.of(kubectl.toString(), "kustomize", K8S.resolve(relative).toString());
        try {
            Path out = Files.createTempFile("kustomize", ".yaml");
            Path err = Files.createTempFile("kustomize", ".err");
            try {
                Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new AssertionError("kubectl kustomize did not finish within 60 s: " + command);
                }
                if (p.exitValue() != 0) {
                    throw new AssertionError(String.join(" ", command) + " failed:\n" + Files.readString(err));
                }
                return new Rendered(relative, readAll(Files.readString(out)).stream().map(K8sObject::new).toList());
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Every YAML document of {@code text} that is not empty. */
    static List<JsonNode> readAll(String text) {
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    docs.add(doc);
                }
            }
        }
        return docs;
    }

    /** The one YAML document of {@code file}. */
    static JsonNode readYaml(Path file) {
        try {
            List<JsonNode> docs = readAll(Files.readString(file));
            if (docs.size() != 1) {
                throw new AssertionError(file + " holds " + docs.size() + " YAML documents, not 1");
            }
            return docs.get(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
