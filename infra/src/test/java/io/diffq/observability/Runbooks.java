package io.diffq.observability;

import io.diffq.docs.Markdown;
import io.diffq.docs.Markdown.Heading;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The alerts' {@code runbook_url}s and the runbooks they point at: the {@code ###} sections under
 * {@code ## Runbooks} in docs/operations.md, one per alert, each headed by the alert's name.
 */
final class Runbooks {

    static final Path OPERATIONS = Repo.ROOT.resolve("docs/operations.md");
    static final Path ALERTS = Repo.PROMETHEUS.resolve("rules/alerts.yml");

    /** The {@code ##} section whose {@code ###} headings are the runbooks. */
    private static final String SECTION = "Runbooks";
    /** A link to docs/operations.md in some repository (the host is the user's), with a fragment. */
    private static final Pattern LINK = Pattern.compile("(https://\\S+/docs/operations\\.md)#([^#\\s]+)");

    private Runbooks() {
    }

    /** An alert rule and its {@code runbook_url} annotation (null when it has none). */
    record Alert(String name, String runbookUrl) {
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The alert rules of a Prometheus rule file, in file order. */
    static List<Alert> alerts(String rulesYaml) {
        Map<String, Object> root = new Yaml(new SafeConstructor(new LoaderOptions())).load(rulesYaml);
        List<Alert> alerts = new ArrayList<>();
        for (Map<String, Object> group : list(root.get("groups"))) {
            for (Map<String, Object> rule : list(group.get("rules"))) {
                if (rule.get("alert") instanceof String name) {
                    Map<String, Object> annotations = map(rule.get("annotations"));
                    Object url = annotations.get("runbook_url");
                    alerts.add(new Alert(name, url == null ? null : url.toString()));
                }
            }
        }
        return alerts;
    }

    /** The headings of a Markdown text with GitHub's anchors: {@link Markdown#headings}. */
    static List<Heading> headings(String markdown) {
        return Markdown.headings(markdown);
    }

    /** The anchor GitHub derives from a heading's text: {@link Markdown#slug}. */
    static String slug(String headingText) {
        return Markdown.slug(headingText);
    }

    /** The runbooks: the {@code ###} headings of the {@code ## Runbooks} section. */
    static List<Heading> runbooks(List<Heading> headings) {
        List<Heading> runbooks = new ArrayList<>();
        boolean inSection = false;
        for (Heading h : headings) {
            if (h.level() <= 2) {
                inSection = h.level() == 2 && h.text().equals(SECTION);
            } else if (inSection && h.level() == 3) {
                runbooks.add(h);
            }
        }
        return runbooks;
    }

    /**
     * What is wrong with the alerts' links: an alert without a {@code runbook_url}, one that is no link to
     * docs/operations.md, one whose fragment is not the anchor of its own runbook, alerts that link
     * different copies of the page.
     */
    static List<String> linkProblems(List<Alert> alerts, List<Heading> headings) {
        List<String> problems = new ArrayList<>();
        Set<String> anchors = new LinkedHashSet<>();
        headings.forEach(h -> anchors.add(h.anchor()));
        Set<String> runbookAnchors = new LinkedHashSet<>();
        runbooks(headings).forEach(h -> runbookAnchors.add(h.anchor()));
        Set<String> pages = new LinkedHashSet<>();
        for (Alert alert : alerts) {
            if (alert.runbookUrl() == null) {
                problems.add(alert.name() + " has no runbook_url");
                continue;
            }
            Matcher m = LINK.matcher(alert.runbookUrl());
            if (!m.matches()) {
                problems.add(alert.name() + ": runbook_url " + alert.runbookUrl()
                        + " is not an https link to docs/operations.md#<section>");
                continue;
            }
            pages.add(m.group(1));
            String fragment = m.group(2);
            String own = slug(alert.name());
            if (!anchors.contains(fragment)) {
                problems.add(alert.name() + ": runbook_url names #" + fragment + ", a heading docs/operations.md lacks");
            } else if (!runbookAnchors.contains(fragment)) {
                problems.add(alert.name() + ": runbook_url names #" + fragment + ", which is not a runbook (### under ## "
                        + SECTION + ")");
            }
            if (!fragment.equals(own)) {
                problems.add(alert.name() + ": runbook_url names #" + fragment + ", not its own runbook #" + own);
            }
        }
        if (pages.size() > 1) {
            problems.add("the alerts link different copies of docs/operations.md: " + pages);
        }
        return problems;
    }

    /** What is wrong with the runbooks: one whose heading is no alert's name (a stale runbook), or a repeated one. */
    static List<String> runbookProblems(List<Alert> alerts, List<Heading> headings) {
        List<String> problems = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        alerts.forEach(a -> names.add(a.name()));
        Set<String> seen = new LinkedHashSet<>();
        for (Heading runbook : runbooks(headings)) {
            if (!names.contains(runbook.text())) {
                problems.add("runbook \"" + runbook.text() + "\" names no alert of alerts.yml");
            }
            if (!seen.add(runbook.text())) {
                problems.add("runbook \"" + runbook.text() + "\" appears twice");
            }
        }
        return problems;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object node) {
        return node instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object node) {
        return node instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }
}
