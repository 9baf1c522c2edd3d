package io.diffq.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.observability.Dashboards.Dashboard;
import io.diffq.observability.Dashboards.Query;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The dashboards' structure: what Grafana needs to load them and what makes every panel filterable. */
class DashboardsTests {

    private static final Set<String> DATASOURCE = Set.of("${datasource}", "$datasource");
    private static final Set<String> BUILT_INS = Set.of("__rate_interval", "__interval", "__range");
    private static final Pattern SELECTOR = Pattern.compile("\\{[^{}]*}");
    private static final Pattern RANGE = Pattern.compile("\\[[^\\]]*]");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{?(\\w+)");

    private final List<Dashboard> dashboards = Dashboards.all();

    @Test
    void theDashboardsExistWithStableUidsTitlesAndACurrentSchema() {
        assertThat(dashboards).extracting(d -> d.json().path("uid").asString())
                .containsExactlyInAnyOrder("diffq-overview", "diffq-queue", "diffq-gpu");
        for (Dashboard d : dashboards) {
            assertThat(d.json().path("title").asString()).as(d.name() + " title").isNotBlank();
            assertThat(d.json().path("schemaVersion").asInt()).as(d.name() + " schemaVersion").isGreaterThanOrEqualTo(36);
        }
    }

    @Test
    void everyDashboardHasTheDatasourceAndInstanceVariables() {
        for (Dashboard d : dashboards) {
            JsonNode datasource = variable(d, "datasource");
            assertThat(datasource.path("type").asString()).as(d.name()).isEqualTo("datasource");
            assertThat(datasource.path("query").asString()).as(d.name()).isEqualTo("prometheus");

            JsonNode instance = variable(d, "instance");
            assertMultiValueQuery(d, instance);
            assertThat(queryOf(instance)).as(d.name() + " instance values come from a diffq metric")
                    .startsWith("label_values(").containsAnyOf("diffq_", "application=~\"diffq-");
        }
        Dashboard gpu = dashboard("diffq-gpu");
        JsonNode gpuVariable = variable(gpu, "gpu");
        assertMultiValueQuery(gpu, gpuVariable);
        assertThat(queryOf(gpuVariable)).startsWith("label_values(diffq_gpu_utilization_percent").endsWith(", gpu)");
    }

    @Test
    void everyPanelUsesTheDatasourceVariableAndHasAUnitAndAQuery() {
        List<String> problems = new ArrayList<>();
        for (Dashboard d : dashboards) {
            for (JsonNode panel : d.panels()) {
                String where = d.name() + " / " + panel.path("title").asString();
                if (!DATASOURCE.contains(panel.path("datasource").path("uid").asString())) {
                    problems.add(where + ": datasource is not ${datasource}");
                }
                if (panel.path("fieldConfig").path("defaults").path("unit").asString("").isBlank()) {
                    problems.add(where + ": no unit");
                }
                if (panel.path("targets").isEmpty()) {
                    problems.add(where + ": no targets");
                }
                for (JsonNode target : panel.path("targets")) {
                    if (target.path("expr").asString("").isBlank()) {
                        problems.add(where + " / " + target.path("refId").asString() + ": no expr");
                    }
                    JsonNode ds = target.path("datasource");
                    if (!ds.isMissingNode() && !DATASOURCE.contains(ds.path("uid").asString())) {
                        problems.add(where + " / " + target.path("refId").asString() + ": datasource is not ${datasource}");
                    }
                }
            }
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void panelIdsAreUniqueAndPanelsDoNotOverlap() {
        for (Dashboard d : dashboards) {
            List<JsonNode> panels = d.panels();
            assertThat(panels).as(d.name()).isNotEmpty();
            assertThat(panels).extracting(p -> p.path("id").asInt()).as(d.name() + " panel ids").doesNotHaveDuplicates();
            for (int i = 0; i < panels.size(); i++) {
                for (int j = i + 1; j < panels.size(); j++) {
                    assertThat(overlap(panels.get(i).path("gridPos"), panels.get(j).path("gridPos")))
                            .as("%s: '%s' overlaps '%s'", d.name(), panels.get(i).path("title").asString(),
                                    panels.get(j).path("title").asString())
                            .isFalse();
                }
            }
        }
    }

    @Test
    void everySelectorFiltersByApplicationAndInstanceAndEveryRangeIsTheRateInterval() {
        List<String> problems = new ArrayList<>();
        for (Dashboard d : dashboards) {
            Set<String> defined = d.variables().stream().map(v -> v.path("name").asString())
                    .collect(Collectors.toCollection(HashSet::new));
            defined.addAll(BUILT_INS);
            boolean filtersGpus = defined.contains("gpu");
            for (Query q : d.queries()) {
                Matcher selectors = SELECTOR.matcher(q.expr());
                int count = 0;
                while (selectors.find()) {
                    count++;
                    String s = selectors.group();
                    if (!s.contains("instance=~\"$instance\"")) {
                        problems.add(q + " -- selector " + s + " does not filter instance=~\"$instance\"");
                    }
                    // diffq_job_e2e_seconds exists on both services: every selector names its side.
                    if (!s.contains("application=")) {
                        problems.add(q + " -- selector " + s + " names no application");
                    }
                    if (filtersGpus && !s.contains("gpu=~\"$gpu\"")) {
                        problems.add(q + " -- selector " + s + " does not filter gpu=~\"$gpu\"");
                    }
                }
                if (count == 0) {
                    problems.add(q + " -- no label selector");
                }
                RANGE.matcher(q.expr()).results().map(MatchResult::group)
                        .filter(range -> !range.equals("[$__rate_interval]"))
                        .forEach(range -> problems.add(q + " -- range " + range + " instead of [$__rate_interval]"));
                VARIABLE.matcher(q.expr()).results().map(m -> m.group(1))
                        .filter(name -> !defined.contains(name))
                        .forEach(name -> problems.add(q + " -- unknown variable $" + name));
            }
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void thresholdsMatchTheAlerts() {
        assertThat(thresholdSteps(panelWith("diffq-overview", "diffq_job_e2e_seconds_bucket"))).contains(15.0);
        assertThat(thresholdSteps(panelWith("diffq-overview", "status=~\"5..\""))).contains(0.02);
        assertThat(thresholdSteps(panelWith("diffq-queue", "diffq_queue_oldest_wait_seconds"))).contains(300.0);
    }

    private Dashboard dashboard(String uid) {
        return dashboards.stream().filter(d -> d.json().path("uid").asString().equals(uid)).findFirst().orElseThrow();
    }

    private static JsonNode variable(Dashboard d, String name) {
        return d.variables().stream().filter(v -> v.path("name").asString().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(d.name() + " has no variable " + name));
    }

    private static void assertMultiValueQuery(Dashboard d, JsonNode v) {
        String what = d.name() + " $" + v.path("name").asString();
        assertThat(v.path("type").asString()).as(what).isEqualTo("query");
        assertThat(v.path("datasource").path("uid").asString()).as(what).isIn(DATASOURCE);
        assertThat(v.path("multi").asBoolean()).as(what + " multi").isTrue();
        assertThat(v.path("includeAll").asBoolean()).as(what + " includeAll").isTrue();
        // "All" must become a regex that matches everything, not Grafana's alternation of known values.
        assertThat(v.path("allValue").asString()).as(what + " allValue").isEqualTo(".*");
    }

    /** A variable's query: a string, or the {query: ...} object newer Grafana versions write. */
    static String queryOf(JsonNode variable) {
        JsonNode q = variable.path("query");
        return q.isString() ? q.asString() : q.path("query").asString();
    }

    /** Every panel of the dashboard whose queries contain {@code text}: their threshold values, merged. */
    private List<JsonNode> panelWith(String uid, String text) {
        List<JsonNode> panels = dashboard(uid).panels().stream()
                .filter(p -> p.path("targets").values().stream().anyMatch(t -> t.path("expr").asString().contains(text)))
                .toList();
        assertThat(panels).as(uid + " panels querying " + text).isNotEmpty();
        return panels;
    }

    private static List<Double> thresholdSteps(List<JsonNode> panels) {
        return panels.stream()
                .flatMap(p -> p.path("fieldConfig").path("defaults").path("thresholds").path("steps").values().stream())
                .filter(step -> step.path("value").isNumber())
                .map(step -> step.path("value").asDouble())
                .toList();
    }

    private static boolean overlap(JsonNode a, JsonNode b) {
        return a.path("x").asInt() < b.path("x").asInt() + b.path("w").asInt()
                && b.path("x").asInt() < a.path("x").asInt() + a.path("w").asInt()
                && a.path("y").asInt() < b.path("y").asInt() + b.path("h").asInt()
                && b.path("y").asInt() < a.path("y").asInt() + a.path("h").asInt();
    }
}
