package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;
import tools.jackson.databind.JsonNode;

/**
 * The images themselves, run by Testcontainers: the broker image, the gateway image and two CPU worker
 * images as containers on one network, and jobs through them; each image runs as a non-root user,
 * carries its OCI labels and a HEALTHCHECK that reports healthy. Image sizes go to
 * {@code target/image-sizes.txt}. The CUDA image is built as far as this machine allows and the test
 * says where it stops. Ryuk is off (its image cannot be pulled here): the containers are removed in
 * {@link #stop()}.
 */
class ImagesIntegrationTests {

    private static final String VERSION = "0.1.0-SNAPSHOT";
    private static final int JOBS = 20;

    private static Network network;
    private static final List<GenericContainer<?>> containers = new ArrayList<>();
    private static GenericContainer<?> gateway;
    private static final List<GenericContainer<?>> workers = new ArrayList<>();
    private static String tags;

    @BeforeAll
    static void start() {
        Assumptions.assumeTrue(ContainerEngine.host().isPresent(), ContainerEngine.skipReason());
        String host = ContainerEngine.host().orElseThrow();
        // Testcontainers finds an engine through DOCKER_HOST in the environment or the default socket only.
        Assumptions.assumeTrue(host.equals(System.getenv("DOCKER_HOST")) || host.equals("unix:///var/run/docker.sock"),
                "the engine at " + host + " answers, but Testcontainers only finds it with DOCKER_HOST=" + host
                        + " in the environment");
        ContainerEngine.buildImages();
        tags = ContainerEngine.run(Duration.ofSeconds(30), Map.of(), "infra/images/build", "--print-tags").output();

        network = Network.newNetwork();
        GenericContainer<?> kafka = started(new GenericContainer<>(DockerImageName.parse(tag("diffq/kafka")))
                .withNetwork(network).withNetworkAliases("kafka")
                .withEnv("KAFKA_ADVERTISED_HOST", "kafka")
                .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3))));
        assertThat(kafka.isRunning()).isTrue();
        gateway = started(new GenericContainer<>(DockerImageName.parse("diffq/gateway:" + VERSION))
                .withNetwork(network)
                .withEnv("SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
                .withEnv("DIFFQ_GATEWAY_MODELS_SERVED", "simulated,tiny")
                .withEnv("DIFFQ_GATEWAY_SECURITY_RATE_LIMIT_ENABLED", "false")
                .withExposedPorts(8080, 8081)
                .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3))));
        for (int i = 1; i <= 2; i++) {
            workers.add(started(new GenericContainer<>(DockerImageName.parse("diffq/worker-cpu:" + VERSION))
                    .withNetwork(network)
                    .withEnv("SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
                    .withEnv("DIFFQ_WORKER_ID", "container-worker-" + i)
                    .withEnv("OMP_NUM_THREADS", "1")
                    .withEnv("JAVA_OPTS", "-XX:MaxRAMPercentage=40.0 -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1")
                    .withExposedPorts(8091)
                    .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(4)))));
        }
    }

    private static GenericContainer<?> started(GenericContainer<?> c) {
        containers.add(c);
        c.start();
        return c;
    }

    @AfterAll
    static void stop() {
        for (int i = containers.size() - 1; i >= 0; i--) {
            containers.get(i).stop();
        }
        if (network != null) {
            network.close();
        }
    }

    @Test
    void jobsRunThroughTheImagesOnBothWorkers() {
        Http api = new Http(gateway.getMappedPort(8080));
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1)).until(() ->
                api.get("/v1/models").statusCode() == 200
                        && new String(api.get("/v1/models").body()).contains("{\"name\":\"tiny\",\"advertised\":true"));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < JOBS; i++) {
            var r = api.post("/v1/jobs", "{\"prompt\":\"a green square " + i + "\",\"model\":\"tiny\","
                    + "\"width\":64,\"height\":64,\"steps\":8,\"seed\":" + i + "}");
            assertThat(r.statusCode()).as(new String(r.body())).isEqualTo(202);
            ids.add(Http.json(r).get("id").asString());
        }
        await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(2)).until(() -> ids.stream()
                .allMatch(id -> api.getJson("/v1/jobs/" + id).get("state").asString().equals("SUCCEEDED")));
        var image = api.get("/v1/jobs/" + ids.get(0) + "/image");
        assertThat(image.statusCode()).isEqualTo(200);
        assertThat(image.body()).startsWith(0x89, 'P', 'N', 'G');

        // Both worker containers ran jobs (the jobs topic's partitions are shared between them).
        Map<String, Double> perWorker = new LinkedHashMap<>();
        for (GenericContainer<?> w : workers) {
            String metrics = new String(new Http(w.getMappedPort(8091)).get("/actuator/prometheus").body());
            double succeeded = metrics.lines()
                    .filter(l -> l.startsWith("diffq_jobs_completed_total{") && l.contains("state=\"SUCCEEDED\""))
                    .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
            perWorker.put(w.getContainerName(), succeeded);
        }
        System.out.println("images: jobs succeeded per worker container: " + perWorker);
        assertThat(perWorker.values()).allSatisfy(n -> assertThat(n).isPositive());
        assertThat(perWorker.values().stream().mapToDouble(Double::doubleValue).sum()).isEqualTo(JOBS);
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
        JsonNode base = inspect("diffq/base-jre:17-bookworm");
        sizes.append(String.format("%-36s %5d MB (the local base)%n", "diffq/base-jre:17-bookworm",
                base.get("Size").asLong() / 1_000_000));
        Path out = Path.of("target/image-sizes.txt");
        Files.writeString(out, sizes);
        System.out.print("images:\n" + sizes);
        // The running containers report healthy through the image's own HEALTHCHECK.
        for (GenericContainer<?> c : containers) {
            assertThat(c.getCurrentContainerInfo().getState().getHealth().getStatus()).as(c.getDockerImageName())
                    .isEqualTo("healthy");
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
                "--target", "layers", "--build-arg", "BASE=diffq/base-jre:17-bookworm",
                "--tag", "diffq/worker-cuda-layers:test", ".");
        assertThat(stage.exit()).as(stage.output()).isZero();
        ContainerEngine.docker(Duration.ofSeconds(60), "image", "rm", "diffq/worker-cuda-layers:test");

        ContainerEngine.Result whole = ContainerEngine.docker(Duration.ofMinutes(10), "build", "--file", dockerfile,
                "--build-arg", "BASE=diffq/base-jre:17-bookworm", "--tag", "diffq/worker-cuda:" + VERSION, ".");
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
