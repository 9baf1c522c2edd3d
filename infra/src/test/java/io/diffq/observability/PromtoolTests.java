package io.diffq.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Prometheus config, rules and rule unit tests, as promtool checks them. */
class PromtoolTests {

    /** A kubernetes_sd_configs block of the shape prometheus-kubernetes.yml uses: the key and its one role item. */
    private static final Pattern KUBERNETES_SD = Pattern.compile("(?m)^( *)kubernetes_sd_configs:\\n\\1  - role: \\w+\\n");

    @Test
    void localConfigIsValid() {
        assertSucceeds(promtool("check", "config", Repo.PROMETHEUS.resolve("prometheus.yml").toString()));
    }

    @Test
    void localConfigKeepsTheTargetsTheLocalRunnerRewrites() throws IOException {
        // The local runner (PrometheusTargets) replaces exactly these strings (the worker as a block-list item).
        String config = Files.readString(Repo.PROMETHEUS.resolve("prometheus.yml"));
        assertThat(config).contains("- localhost:8081\n", "- localhost:8091\n", "- localhost:9090\n");
    }

    @Test
    void kubernetesConfigIsValid(@TempDir Path dir) throws IOException {
        Path config = Repo.PROMETHEUS.resolve("prometheus-kubernetes.yml");
        if (supportsKubernetesSd(dir)) {
            assertSucceeds(promtool("check", "config", config.toString()));
            return;
        }
        // Debian's prometheus is built without Kubernetes discovery, and its promtool rejects the key.
        // Check everything else (relabel_configs above all) with each discovery block swapped for an
        // empty static_configs, next to a copy of the rules so that rule_files still resolves.
        String text = Files.readString(config);
        Matcher sd = KUBERNETES_SD.matcher(text);
        String swapped = sd.replaceAll("$1static_configs: []\n");
        assertThat(text.split("kubernetes_sd_configs:", -1).length - 1)
                .as("every kubernetes_sd_configs block has the shape the swap expects")
                .isEqualTo(KUBERNETES_SD.matcher(text).results().count())
                .isPositive();
        Files.writeString(dir.resolve("prometheus-kubernetes.yml"), swapped);
        Files.createDirectories(dir.resolve("rules"));
        try (Stream<Path> rules = Files.list(Repo.PROMETHEUS.resolve("rules"))) {
            for (Path rule : rules.toList()) {
                Files.copy(rule, dir.resolve("rules").resolve(rule.getFileName()));
            }
        }
        System.out.println("promtool lacks Kubernetes service discovery (Debian build): checked "
                + config + " with kubernetes_sd_configs replaced by static_configs");
        assertSucceeds(promtool("check", "config", dir.resolve("prometheus-kubernetes.yml").toString()));
    }

    @Test
    void rulesAreValid() {
        assertSucceeds(promtool(Stream.concat(Stream.of("check", "rules"), files("rules")).toArray(String[]::new)));
    }

    @Test
    void ruleUnitTestsPass() {
        assertSucceeds(promtool(Stream.concat(Stream.of("test", "rules"), files("tests")).toArray(String[]::new)));
    }

    private static boolean supportsKubernetesSd(Path dir) throws IOException {
        Path probe = dir.resolve("probe.yml");
        Files.writeString(probe, "scrape_configs:\n  - job_name: probe\n    kubernetes_sd_configs:\n      - role: pod\n");
        Result r = promtool("check", "config", probe.toString());
        return !r.output().contains("field kubernetes_sd_configs not found");
    }

    private static Stream<String> files(String folder) {
        try (Stream<Path> files = Files.list(Repo.PROMETHEUS.resolve(folder))) {
            List<String> yml = files.map(Path::toString).filter(f -> f.endsWith(".yml")).sorted().toList();
            assertThat(yml).as("YAML files in infra/prometheus/" + folder).isNotEmpty();
            return yml.stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private record Result(List<String> command, int exitCode, String output) {
    }

    private static void assertSucceeds(Result r) {
        assertThat(r.exitCode()).as("%s\n%s", String.join(" ", r.command()), r.output()).isZero();
    }

    /** Runs promtool in the repository root; skips the test where promtool is not installed. */
    private static Result promtool(String... args) {
        Path promtool = Repo.executable("promtool").orElse(null);
        assumeTrue(promtool != null, "promtool not installed: apt-get install prometheus");
        List<String> command = new ArrayList<>(List.of(promtool.toString()));
        command.addAll(List.of(args));
        try {
            Path log = Files.createTempFile("promtool", ".log");
            try {
                Process p = new ProcessBuilder(command).directory(Repo.ROOT.toFile()).redirectErrorStream(true)
                        .redirectOutput(log.toFile()).start();
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IllegalStateException("promtool did not finish within 60 s: " + command);
                }
                return new Result(command, p.exitValue(), Files.readString(log));
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
