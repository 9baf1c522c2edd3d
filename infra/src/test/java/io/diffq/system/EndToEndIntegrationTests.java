package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.testing.KafkaBrokerProcess;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The whole system as it runs in production, each part in its own process: a standalone KRaft broker,
 * the gateway jar and the worker jar (with the simulated model: this tests the queue, not the model).
 */
class EndToEndIntegrationTests {

    private static final int[][] SIZES = {{64, 64}, {128, 32}, {32, 96}, {256, 256}, {8, 8}};

    @Test
    void twentyJobsSucceedWithImagesOfTheRequestedSizeAndAFailureShowsItsError(@TempDir Path dir) throws Exception {
        try (KafkaBrokerProcess broker = KafkaBrokerProcess.start(dir.resolve("kafka"));
                ServiceProcess worker = ServiceProcess.worker(dir, "worker-1", broker.bootstrapServers(),
                        KafkaBrokerProcess.freePort(), "--diffq.worker.simulated.latency=100ms",
                        "--diffq.worker.simulated.fail-pattern=explode")) {
            int port = KafkaBrokerProcess.freePort();
            ServiceProcess gateway = ServiceProcess.gateway(dir, "gateway-a", broker.bootstrapServers(), port,
                    KafkaBrokerProcess.freePort());
            Http api = new Http(port);

            Map<String, int[]> jobs = new LinkedHashMap<>();
            for (int i = 0; i < 20; i++) {
                int[] size = SIZES[i % SIZES.length];
                HttpResponse<byte[]> r = api.post("/v1/jobs", String.format(
                        "{\"prompt\":\"job %d\",\"width\":%d,\"height\":%d,\"steps\":5,\"seed\":%d}",
                        i, size[0], size[1], i));
                assertThat(r.statusCode()).isEqualTo(202);
                String id = Http.json(r).get("id").asString();
                assertThat(r.headers().firstValue("Location")).hasValue("/v1/jobs/" + id);
                jobs.put(id, size);
            }
            String failing = Http.json(api.post("/v1/jobs", "{\"prompt\":\"please explode\"}")).get("id").asString();

            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                for (String id : jobs.keySet()) {
                    assertThat(api.getJson("/v1/jobs/" + id).get("state").asString()).as(id).isEqualTo("SUCCEEDED");
                }
                assertThat(api.getJson("/v1/jobs/" + failing).get("state").asString()).isEqualTo("FAILED");
            });

            for (Map.Entry<String, int[]> job : jobs.entrySet()) {
                HttpResponse<byte[]> image = api.get("/v1/jobs/" + job.getKey() + "/image");
                assertThat(image.statusCode()).isEqualTo(200);
                assertThat(image.headers().firstValue("Content-Type")).hasValue("image/png");
                BufferedImage png = ImageIO.read(new ByteArrayInputStream(image.body()));
                assertThat(png).as("PNG of " + job.getKey()).isNotNull();
                assertThat(new int[] {png.getWidth(), png.getHeight()}).isEqualTo(job.getValue());
                JsonNode status = api.getJson("/v1/jobs/" + job.getKey());
                assertThat(status.get("attempt").asInt()).isEqualTo(1);
                assertThat(status.get("progress").get("step").asInt()).isEqualTo(5);
                assertThat(status.get("timings").get("totalMs").asLong())
                        .isGreaterThanOrEqualTo(status.get("timings").get("inferenceMs").asLong());
            }
            JsonNode failed = api.getJson("/v1/jobs/" + failing);
            assertThat(failed.get("error").get("type").asString()).isEqualTo("model-error");
            assertThat(failed.get("error").get("message").asString()).contains("fail");
            assertThat(api.get("/v1/jobs/" + failing + "/image").statusCode()).isEqualTo(409);

            // A second gateway answers for the first one's jobs; the first, restarted, still knows them all.
            int portB = KafkaBrokerProcess.freePort();
            try (ServiceProcess gatewayB = ServiceProcess.gateway(dir, "gateway-b", broker.bootstrapServers(), portB,
                    KafkaBrokerProcess.freePort())) {
                assertAllKnown(new Http(portB), jobs, failing);
                gateway.stop();
                gateway = ServiceProcess.gateway(dir, "gateway-a2", broker.bootstrapServers(), port,
                        KafkaBrokerProcess.freePort());
                assertAllKnown(api, jobs, failing);
            } finally {
                gateway.close();
            }
        }
    }

    @Test
    void stableDiffusionFromTorchScriptDrawsThePromptThroughTheApi(@TempDir Path dir) throws Exception {
        Path fixture = ServiceProcess.ROOT.resolve("gpu-worker/src/test/resources/sd-fixture");
        try (Cluster cluster = new Cluster(dir)) {
            Http api = cluster.gateway();
            cluster.worker("--diffq.worker.models=sd", "--diffq.worker.stable-diffusion.model-dir=" + fixture);
            awaitAdvertised(api, "sd");
            assertRejected(api, "{\"prompt\":\"red\",\"model\":\"sd\",\"width\":100}", "width");

            String job = "{\"prompt\":\"a red picture\",\"model\":\"sd\",\"width\":128,\"height\":64,"
                    + "\"steps\":12,\"guidanceScale\":1,\"scheduler\":\"dpmpp-2m\",\"seed\":5}";
            byte[] first = drawPng(api, job);
            assertThat(drawPng(api, job)).as("the same job again, on the same worker").isEqualTo(first);

            BufferedImage png = ImageIO.read(new ByteArrayInputStream(first));
            assertThat(png.getWidth()).isEqualTo(128);
            assertThat(png.getHeight()).isEqualTo(64);
            assertColour(png, 0, 64, 191, 64, 64);
            assertColour(png, 64, 128, 128, 128, 128);
            // A job that gives no size gets the model directory's default size.
            assertThat(draw(api, "{\"prompt\":\"blue\",\"model\":\"sd\",\"steps\":4}").getWidth()).isEqualTo(64);
        }
    }

    /** Every pixel of columns [from, to) is (r, g, b) within 1 per channel (see the test above for why 1). */
    private static void assertColour(BufferedImage image, int from, int to, int r, int g, int b) {
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = from; x < to; x++) {
                java.awt.Color c = new java.awt.Color(image.getRGB(x, y));
                assertThat(new int[] {c.getRed(), c.getGreen(), c.getBlue()}).as("pixel (%d, %d): %s", x, y, c)
                        .satisfies(a -> {
                            assertThat(a[0]).isBetween(r - 1, r + 1);
                            assertThat(a[1]).isBetween(g - 1, g + 1);
                            assertThat(a[2]).isBetween(b - 1, b + 1);
                        });
            }
        }
    }

    /** Submits the job, waits until it succeeded and returns its picture. */
    private static BufferedImage draw(Http api, String json) throws java.io.IOException {
        return ImageIO.read(new ByteArrayInputStream(drawPng(api, json)));
    }

    /** Submits the job, waits until it succeeded and returns its PNG as served. */
    private static byte[] drawPng(Http api, String json) {
        String id = Cluster.submit(api, json);
        Cluster.awaitState(api, id, "SUCCEEDED", Duration.ofSeconds(120));
        return api.get("/v1/jobs/" + id + "/image").body();
    }

    private static void assertRejected(Http api, String json, String field) {
        HttpResponse<byte[]> r = api.post("/v1/jobs", json);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(Http.json(r).get("field").asString()).isEqualTo(field);
    }

    /** Waits until the gateway lists {@code model} as advertised by a worker. */
    private static void awaitAdvertised(Http api, String model) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() ->
                api.getJson("/v1/models").get("models").valueStream().anyMatch(m ->
                        m.get("name").asString().equals(model) && m.get("advertised").asBoolean()));
    }

    private static void assertAllKnown(Http api, Map<String, int[]> jobs, String failing) {
        for (String id : jobs.keySet()) {
            assertThat(api.getJson("/v1/jobs/" + id).get("state").asString()).isEqualTo("SUCCEEDED");
            assertThat(api.get("/v1/jobs/" + id + "/image").statusCode()).isEqualTo(200);
        }
        assertThat(api.getJson("/v1/jobs/" + failing).get("state").asString()).isEqualTo("FAILED");
    }
}
