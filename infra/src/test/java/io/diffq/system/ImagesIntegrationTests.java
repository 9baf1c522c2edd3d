package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;
import tools.jackson.databind.JsonNode;

/**
 * The images themselves: built from the repository's jars ({@code infra/images/build}), each runs as a non-root
 * user and carries its OCI labels and a HEALTHCHECK; image sizes go to {@code target/image-sizes.txt}. The broker
 * image runs alone under Testcontainers until its HEALTHCHECK says healthy. The CUDA image is built as far as
 * this machine allows and the test says where it stops. That the images run jobs together, and that the gateway
 * and worker images report healthy, {@link ComposeStackIntegrationTests} shows with the same tags (workers
 * scaled 1 → 3 → 1). Ryuk is off (its image cannot be pulled here): the container is removed by the test.
 */
@ResourceLock("container-engine")
class ImagesIntegrationTests {

    private static final String VERSION = "0.1.0-SNAPSHOT";

    private static String tags;

    @BeforeAll
    static void build() {
        Assumptions.assumeTrue(ContainerEngine.host().isPresent(), ContainerEngine.skipReason());
        Assumptions.assumeTrue(ContainerEngine.canBuildJvmImages(), ContainerEngine.NO_JDK_25);
        ContainerEngine.buildImages();
        tags = ContainerEngine.run(Duration.ofSeconds(30), Map.of(), "infra/images/build", "--print-tags").output();
    }

    @Test
    void theBrokerImageStartsAloneAndReportsHealthy() {
        String host = ContainerEngine.host().orElseThrow();
        // Testcontainers finds an engine through DOCKER_HOST in the environment or the default socket only.
        Assumptions.assumeTrue(host.equals(System.getenv("DOCKER_HOST")) || host.equals("unix:///var/run/docker.sock"),
                "the engine at " + host + " answers, but Testcontainers only finds it with DOCKER_HOST=" + host
                        + " in the environment");
        try (GenericContainer<?> kafka = new GenericContainer<>(DockerImageName.parse(tag("diffq/kafka")))
                .withEnv("KAFKA_ADVERTISED_HOST", "localhost")
                .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)))) {
            kafka.start();
            assertThat(kafka.getCurrentContainerInfo().getState().getHealth().getStatus()).isEqualTo("healthy");
        }
    }

    @Test
    void eachImageRunsAsNonRootWithLabelsAndAHealthCheckAndItsSizeIsRecorded() throws IOException {
        StringBuilder sizes = new StringBuilder();
        for (String tag : tags.strip().split(" ")) {
            if (tag.startsWith("diffq/worker-cuda")) {
                continue;
            }
            JsonNode config = inspect(tag).get("Config");
            assertThat(config.get("User").asString()).as("%s user", tag).isEqualTo("10001:10001");
            assertThat(config.get("Healthcheck").get("Test").toString()).as(tag).isNotEmpty();
            JsonNode labels = config.get("Labels");
            assertThat(labels.get("org.opencontainers.image.title").asString()).as(tag).startsWith("diffq-");
            assertThat(labels.get("org.opencontainers.image.version").asString()).as(tag)
                    .isEqualTo(tag.substring(tag.indexOf(':') + 1));
            assertThat(labels.has("org.opencontainers.image.revision")).as(tag).isTrue();
            long bytes = inspect(tag).get("Size").asLong();
            sizes.append(String.format("%-36s %5d MB%n", tag, bytes / 1_000_000));
        }
        JsonNode base = inspect("diffq/base-jre:25-bookworm");
        sizes.append(String.format("%-36s %5d MB (the local base)%n", "diffq/base-jre:25-bookworm",
                base.get("Size").asLong() / 1_000_000));
        Path out = Path.of("target/image-sizes.txt");
        Files.writeString(out, sizes);
        System.out.print("images:\n" + sizes);
    }

    /**
     * Gateway and CPU worker start from the AOT cache their image build trained: the image's JVM maps it for the
     * image's class path ({@code -XX:AOTMode=on} makes a cache it would refuse an error, not a slow start).
     */
    @Test
    void gatewayAndWorkerImagesCarryAStartUpCacheTheirJvmAccepts() {
        for (String image : List.of("diffq/gateway:api-gateway", "diffq/worker-cpu:gpu-worker")) {
            String tag = tag(image.substring(0, image.indexOf(':')));
            String jar = "/app/" + image.substring(image.indexOf(':') + 1) + ".jar";
            ContainerEngine.Result check = ContainerEngine.docker(Duration.ofMinutes(2), "run", "--rm", "--entrypoint",
                    "java", tag, "-XX:AOTMode=on", "-XX:AOTCache=/app/service.aot", "-Xlog:aot=info", "-cp", jar,
                    "-version");
            assertThat(check.exit()).as(check.output()).isZero();
            assertThat(check.output()).as(tag).contains("Opened AOT cache /app/service.aot").contains("sharing");
        }
    }

    /**
     * The CUDA image needs NVIDIA's base image and a CUDA libtorch from download.pytorch.org, neither of
     * which this machine reaches: its jar stage builds on the local base, and the whole build stops at the
     * CUDA base image, which this test checks and prints (infra/images/worker-cuda/Dockerfile says how
     * to build it where both are reachable).
     */
    @Test
    void theCudaImageBuildsAsFarAsTheJarStageAndStopsAtTheCudaBase() {
        String dockerfile = "infra/images/worker-cuda/Dockerfile";
        ContainerEngine.Result stage = ContainerEngine.docker(Duration.ofMinutes(10), "build", "--file", dockerfile,
                "--target", "layers", "--build-arg", "BASE=diffq/base-jre:25-bookworm",
                "--tag", "diffq/worker-cuda-layers:test", ".");
        assertThat(stage.exit()).as(stage.output()).isZero();
        ContainerEngine.docker(Duration.ofSeconds(60), "image", "rm", "diffq/worker-cuda-layers:test");

        ContainerEngine.Result whole = ContainerEngine.docker(Duration.ofMinutes(10), "build", "--file", dockerfile,
                "--build-arg", "BASE=diffq/base-jre:25-bookworm", "--tag", "diffq/worker-cuda:" + VERSION, ".");
        List<String> lines = whole.output().lines().filter(l -> !l.isBlank()).toList();
        String step = lines.stream().filter(l -> l.startsWith("Step ")).reduce((a, b) -> b).orElse("");
        String last = lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        System.out.println("images: the CUDA image's build stopped at " + step + " with: " + last);
        if (whole.ok()) {
            // A machine with registry access: the image is there; nothing to stop at.
            assertThat(inspect("diffq/worker-cuda:" + VERSION).get("Config").get("User").asString())
                    .isEqualTo("10001:10001");
        } else {
            // Past the jar stage, at the CUDA base: pulling it is what fails.
            assertThat(whole.output()).contains("extract --layers --destination layers");
            assertThat(step).contains("FROM ${CUDA_BASE} AS libtorch");
            assertThat(last).containsAnyOf("registry", "pull", "nvidia/cuda");
        }
    }

    private static String tag(String repository) {
        for (String t : tags.strip().split(" ")) {
            if (t.startsWith(repository + ":")) {
                return t;
            }
        }
        throw new AssertionError("no tag for " + repository + " in " + tags);
    }

    private static JsonNode inspect(String image) {
        ContainerEngine.Result r = ContainerEngine.docker(Duration.ofSeconds(30), "image", "inspect", image);
        assertThat(r.exit()).as(r.output()).isZero();
        return Http.JSON_MAPPER.readTree(r.output()).get(0);
    }
}
