package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.diffq.observability.Repo;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The playground page as a user sees it: real headless Chromium (Debian's {@code chromium}, driven by
 * {@code playwright-core} from {@code infra/browser/}) on the page the gateway jar serves, with a real
 * worker drawing the tiny model. The checks themselves are in {@code infra/browser/playground.test.mjs}:
 * submit and watch the progress bar advance, the picture decoded in the page and not blank, its parameters
 * and "same seed again", cancel, a bad field's message next to that field, and no request off the machine.
 */
class PlaygroundBrowserIntegrationTests {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path BROWSER = ServiceProcess.ROOT.resolve("infra/browser");
    private static final Path SCREENSHOT = ServiceProcess.ROOT.resolve("infra/target/playground.png");

    @Test
    void submitProgressImageCancelAndAFieldErrorInRealChromium(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM), "needs Debian's chromium at " + CHROMIUM + " (apt-get install chromium)");
        Path node = Repo.executable("node").orElse(null);
        assumeTrue(node != null, "needs node on the PATH (apt-get install nodejs npm)");
        installPlaywright();

        try (Cluster cluster = new Cluster(dir)) {
            Http api = cluster.gateway("--diffq.gateway.models.served=tiny", "--diffq.gateway.models.default-model=tiny");
            // One PyTorch thread: the machines that run the tests are small and shared. Progress every 100 ms
            // (the default is 500 ms), so that a job of a second or two shows the bar moving.
            cluster.worker(1, "--diffq.worker.models=tiny", "--diffq.worker.progress-interval=100ms");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() ->
                    api.getJson("/v1/models").get("models").valueStream().anyMatch(m ->
                            m.get("name").asString().equals("tiny") && m.get("advertised").asBoolean()));

            Files.createDirectories(SCREENSHOT.getParent());
            Files.deleteIfExists(SCREENSHOT);
            ProcessBuilder script = new ProcessBuilder(node.toString(), BROWSER.resolve("playground.test.mjs").toString())
                    .directory(BROWSER.toFile())
                    .redirectErrorStream(true);
            script.environment().put("DIFFQ_GATEWAY_URL", api.base());
            script.environment().put("DIFFQ_SCREENSHOT", SCREENSHOT.toString());
            script.environment().put("DIFFQ_CHROMIUM", CHROMIUM.toString());
            int exit = run(script, Duration.ofSeconds(150), "playground.test.mjs");
            assertThat(exit).as("playground.test.mjs exit status (its output is above)").isZero();
            assertThat(SCREENSHOT).isNotEmptyFile();
        }
    }

    /** {@code npm ci} into {@code infra/browser/node_modules} (git-ignored) when playwright-core is not there yet. */
    private static void installPlaywright() throws IOException, InterruptedException {
        if (Files.isDirectory(BROWSER.resolve("node_modules/playwright-core"))) {
            return;
        }
        Path npm = Repo.executable("npm").orElse(null);
        assumeTrue(npm != null, "needs npm on the PATH to install playwright-core (apt-get install npm)");
        // No browser download: playwright-core never fetches one, and the test drives Debian's chromium.
        ProcessBuilder ci = new ProcessBuilder(npm.toString(), "ci", "--no-audit", "--no-fund", "--prefer-offline")
                .directory(BROWSER.toFile())
                .redirectErrorStream(true);
        assertThat(run(ci, Duration.ofMinutes(3), "npm ci")).as("npm ci in " + BROWSER).isZero();
    }

    /** Runs the command, its output streamed into the test log line by line; its exit status. */
    private static int run(ProcessBuilder command, Duration timeout, String label)
            throws IOException, InterruptedException {
        Process p = command.start();
        Thread pump = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                out.lines().forEach(line -> System.out.println(label + " | " + line));
            } catch (IOException e) {
                System.out.println(label + " | (output lost: " + e + ")");
            }
        }, label + "-output");
        pump.start();
        if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            pump.join(5000);
            throw new AssertionError(label + " did not finish within " + timeout);
        }
        pump.join(5000);
        return p.exitValue();
    }
}
