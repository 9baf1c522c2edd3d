package io.diffq.worker.gpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.kafka.Topics;
import io.diffq.testing.KafkaBrokerExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** A scrape of a worker whose NVML is the stand-in library shows the stand-in's values, per GPU. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "diffq.worker.models=simulated",
        "diffq.worker.nvml.sample-interval=200ms"})
@DirtiesContext
class GpuMetricsIntegrationTests {

    @RegisterExtension
    static final KafkaBrokerExtension kafka = KafkaBrokerExtension.withTopics(2, Topics.JOBS, Topics.JOB_EVENTS,
            Topics.RESULTS, Topics.JOBS_DLT);

    private static Path libraryDir;

    @LocalServerPort
    int port;

    @BeforeAll
    static void buildFakeNvml() throws Exception {
        libraryDir = FakeNvml.build(Files.createTempDirectory("fake-nvml"));
    }

    @DynamicPropertySource
    static void kafkaAndNvml(DynamicPropertyRegistry registry) {
        registry.add("spring.kafka.bootstrap-servers", kafka::bootstrapServers);
        registry.add("diffq.worker.nvml.library-path", () -> libraryDir.toString());
    }

    @Test
    void theScrapeShowsEachGpuWithItsLabelsAndValues() throws Exception {
        String scrape = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/prometheus")).build(),
                HttpResponse.BodyHandlers.ofString()).body();

        String h100 = "{application=\"diffq-worker\",gpu=\"gpu0\",name=\"NVIDIA H100 80GB HBM3\","
                + "uuid=\"GPU-11111111-2222-3333-4444-555555555555\"}";
        String a10g = "{application=\"diffq-worker\",gpu=\"gpu1\",name=\"NVIDIA A10G\","
                + "uuid=\"GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"}";
        assertThat(scrape)
                .contains("diffq_gpu_utilization_percent" + h100 + " 87.0")
                .contains("diffq_gpu_memory_used_bytes" + h100 + " 2.147483648E10")
                .contains("diffq_gpu_memory_total_bytes" + h100 + " 8.589934592E10")
                .contains("diffq_gpu_temperature_celsius" + h100 + " 64.0")
                .contains("diffq_gpu_power_watts" + h100 + " 312.5")
                .contains("diffq_gpu_utilization_percent" + a10g + " 3.0")
                .contains("diffq_gpu_power_watts" + a10g + " 58.25");
    }
}
