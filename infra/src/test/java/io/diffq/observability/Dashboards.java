package io.diffq.observability;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The Grafana dashboards under grafana/dashboards, read as JSON trees. */
final class Dashboards {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** One dashboard file. */
    record Dashboard(Path file, JsonNode json) {

        String name() {
            return file.getFileName().toString();
        }

        /** Every panel, including those nested in (collapsed) rows; rows themselves are not panels. */
        List<JsonNode> panels() {
            List<JsonNode> panels = new ArrayList<>();
            for (JsonNode p : json.path("panels")) {
                if ("row".equals(p.path("type").asString())) {
                    p.path("panels").forEach(panels::add);
                } else {
                    panels.add(p);
                }
            }
            return panels;
        }

        List<JsonNode> variables() {
            List<JsonNode> vars = new ArrayList<>();
            json.path("templating").path("list").forEach(vars::add);
            return vars;
        }

        /** Every PromQL query of every panel, as written (variables not substituted). */
        List<Query> queries() {
            List<Query> queries = new ArrayList<>();
            for (JsonNode panel : panels()) {
                for (JsonNode target : panel.path("targets")) {
                    queries.add(new Query(name(), panel.path("title").asString(), target.path("refId").asString(),
                            target.path("expr").asString("")));
                }
            }
            return queries;
        }
    }

    /** A panel's query: where it comes from, and its expression. */
    record Query(String dashboard, String panel, String refId, String expr) {

        @Override
        public String toString() {
            return dashboard + " / " + panel + " / " + refId + ": " + expr;
        }
    }

    private Dashboards() {
    }

    static List<Dashboard> all() {
        try (Stream<Path> files = Files.list(Repo.DASHBOARDS)) {
            return files.filter(f -> f.toString().endsWith(".json")).sorted()
                    .map(f -> new Dashboard(f, JSON.readTree(f)))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
