package io.diffq.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.deploy.Manifests.K8sObject;
import io.diffq.deploy.Manifests.Rendered;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * The PrometheusRule and the Grafana dashboard ConfigMaps under infra/k8s/base/monitoring/generated are copies of
 * infra/prometheus/rules/*.yml and grafana/dashboards/*.json, the sources of truth, made by infra/k8s/sync.sh;
 * these tests fail while a copy is stale. They compare parsed content, so only a change of meaning counts.
 */
class MonitoringSyncTests {

    private static final String RUN_SYNC = "infra/k8s/base/monitoring/generated is stale: run infra/k8s/sync.sh";
    private static final Path GENERATED = Manifests.K8S.resolve("base/monitoring/generated");
    private static final Path RULES = Manifests.ROOT.resolve("infra/prometheus/rules");
    private static final Path DASHBOARDS = Manifests.ROOT.resolve("grafana/dashboards");
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void thePrometheusRuleHoldsExactlyTheGroupsOfTheRuleFiles() {
        JsonNode rule = Manifests.readYaml(GENERATED.resolve("prometheusrule.yaml"));
        assertThat(rule.path("kind").asString()).isEqualTo("PrometheusRule");
        assertThat(rule.path("spec").path("groups")).as(RUN_SYNC).isEqualTo(sourceGroups());
    }

    @Test
    void theDashboardCopiesAreTheDashboards() {
        Map<String, JsonNode> copies = jsonFiles(GENERATED.resolve("dashboards"));
        assertThat(copies.keySet()).as(RUN_SYNC).isEqualTo(jsonFiles(DASHBOARDS).keySet());
        jsonFiles(DASHBOARDS).forEach((name, json) -> assertThat(copies.get(name)).as(RUN_SYNC + " (" + name + ")").isEqualTo(json));
    }

    /** What kustomize makes of the copies: the rule as it is, one ConfigMap per dashboard with the sidecar's label. */
    @Test
    void theRenderedOverlayCarriesTheRulesAndOneConfigMapPerDashboard() {
        Rendered r = Manifests.render("overlays/cpu");
        List<K8sObject> rules = r.ofKind("PrometheusRule");
        assertThat(rules).hasSize(1);
        assertThat(rules.get(0).json().path("spec").path("groups")).as(RUN_SYNC).isEqualTo(sourceGroups());

        Map<String, JsonNode> rendered = new TreeMap<>();
        for (K8sObject cm : r.ofKind("ConfigMap")) {
            if ("1".equals(cm.json().path("metadata").path("labels").path("grafana_dashboard").asString())) {
                cm.json().path("data").properties().forEach(e -> rendered.put(e.getKey(), parseJson(e.getValue().asString())));
            }
        }
        assertThat(rendered).as(RUN_SYNC).isEqualTo(jsonFiles(DASHBOARDS));
    }

    /** The groups of every rule file, in the order of their names, as sync.sh writes them. */
    private static ArrayNode sourceGroups() {
        ArrayNode groups = JsonNodeFactory.instance.arrayNode();
        try (Stream<Path> files = Files.list(RULES)) {
            List<Path> yml = files.filter(f -> f.toString().endsWith(".yml")).sorted().toList();
            assertThat(yml).as("rule files in " + RULES).isNotEmpty();
            yml.forEach(f -> Manifests.readYaml(f).path("groups").forEach(groups::add));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertThat(groups).as("rule groups").isNotEmpty();
        return groups;
    }

    private static Map<String, JsonNode> jsonFiles(Path dir) {
        Map<String, JsonNode> files = new TreeMap<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path f : list.filter(f -> f.toString().endsWith(".json")).toList()) {
                files.put(f.getFileName().toString(), parseJson(Files.readString(f)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    private static JsonNode parseJson(String text) {
        return JSON.readTree(text);
    }
}
