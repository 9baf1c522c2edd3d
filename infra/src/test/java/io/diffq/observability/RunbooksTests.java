package io.diffq.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.docs.Markdown.Heading;
import io.diffq.observability.Runbooks.Alert;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Every alert links its own runbook in docs/operations.md, and every runbook there belongs to an alert. */
class RunbooksTests {

    private static final Pattern FRAGMENT_LINK = Pattern.compile("]\\(#([^)]+)\\)");

    private final String rules = Runbooks.read(Runbooks.ALERTS);
    private final String operations = Runbooks.read(Runbooks.OPERATIONS);
    private final List<Alert> alerts = Runbooks.alerts(rules);
    private final List<Heading> headings = Runbooks.headings(operations);

    @Test
    void theRulesHaveAlertsAndTheGuideHasRunbooks() {
        assertThat(alerts).as("alerts in " + Runbooks.ALERTS).hasSizeGreaterThanOrEqualTo(7);
        assertThat(Runbooks.runbooks(headings)).as("runbooks in " + Runbooks.OPERATIONS).isNotEmpty();
    }

    @Test
    void everyAlertLinksItsOwnRunbook() {
        assertThat(Runbooks.linkProblems(alerts, headings)).isEmpty();
    }

    @Test
    void everyRunbookBelongsToAnAlert() {
        assertThat(Runbooks.runbookProblems(alerts, headings)).isEmpty();
    }

    /** The checks above could pass by never looking: an alert renamed without its runbook must fail both. */
    @Test
    void aRenamedAlertFailsBothChecks() {
        String renamed = rules.replace("- alert: DiffqTargetDown\n", "- alert: DiffqScrapeTargetDown\n");
        assertThat(renamed).isNotEqualTo(rules);
        List<Alert> mutated = Runbooks.alerts(renamed);

        assertThat(Runbooks.linkProblems(mutated, headings))
                .containsExactly("DiffqScrapeTargetDown: runbook_url names #diffqtargetdown, not its own runbook"
                        + " #diffqscrapetargetdown");
        assertThat(Runbooks.runbookProblems(mutated, headings))
                .containsExactly("runbook \"DiffqTargetDown\" names no alert of alerts.yml");
    }

    @Test
    void aMissingOrForeignLinkIsReported() {
        List<Heading> guide = Runbooks.headings("## Runbooks\n\n### DiffqA\n\n### DiffqB\n\n## Sizing\n");
        List<Alert> broken = List.of(
                new Alert("DiffqA", null),
                new Alert("DiffqB", "https://github.com/o/r/blob/main/docs/operations.md#sizing"),
                new Alert("DiffqC", "https://example.com/runbooks#diffqc"));

        assertThat(Runbooks.linkProblems(broken, guide)).containsExactly(
                "DiffqA has no runbook_url",
                "DiffqB: runbook_url names #sizing, which is not a runbook (### under ## Runbooks)",
                "DiffqB: runbook_url names #sizing, not its own runbook #diffqb",
                "DiffqC: runbook_url https://example.com/runbooks#diffqc is not an https link to"
                        + " docs/operations.md#<section>");
    }

    @Test
    void anchorsAreGitHubs() {
        assertThat(Runbooks.slug("DiffqJobLatencyHigh")).isEqualTo("diffqjoblatencyhigh");
        assertThat(Runbooks.slug("Partitions of `diffq.jobs`")).isEqualTo("partitions-of-diffqjobs");
        assertThat(Runbooks.slug("Replicas and `min.insync.replicas`")).isEqualTo("replicas-and-mininsyncreplicas");
        assertThat(Runbooks.slug("What to do: step 1 (of 3)")).isEqualTo("what-to-do-step-1-of-3");
        assertThat(Runbooks.slug("See [the README](../README.md)")).isEqualTo("see-the-readme");
        assertThat(Runbooks.slug("diffq_workers — members")).isEqualTo("diffq_workers--members");
        assertThat(Runbooks.headings("# A\n```\n# not a heading\n```\n## A\n## A #\n"))
                .extracting(Heading::anchor).containsExactly("a", "a-1", "a-2");
    }

    /** The guide's own links between its sections (the runbooks link each other) lead somewhere. */
    @Test
    void theGuidesLinksToItsSectionsResolve() {
        Set<String> anchors = headings.stream().map(Heading::anchor).collect(Collectors.toSet());
        Matcher m = FRAGMENT_LINK.matcher(operations);
        while (m.find()) {
            assertThat(anchors).as("#" + m.group(1) + " in " + Runbooks.OPERATIONS).contains(m.group(1));
        }
    }
}
