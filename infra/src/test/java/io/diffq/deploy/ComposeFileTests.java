package io.diffq.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * What infra/compose mounts and names, checked without an engine: Grafana cannot run here, so its
 * provisioning is checked against the files it would read; Prometheus' config against the rules it
 * mounts and the services it scrapes; and the images are the ones the Kubernetes manifests deploy.
 * (ComposeStackIntegrationTests runs the stack itself.)
 */
class ComposeFileTests {

    private static final Path COMPOSE = Manifests.ROOT.resolve("infra/compose");
    private static final Pattern DEFAULTED = Pattern.compile("\\$\\{[A-Z_]+:-([^}]*)}");

    private final JsonNode compose = Manifests.readYaml(COMPOSE.resolve("docker-compose.yml"));
    private final JsonNode gpu = Manifests.readYaml(COMPOSE.resolve("docker-compose.gpu.yml"));

    @Test
    void everyBindMountNamesAFileOrFolderOfTheRepository() {
        List<String> checked = new ArrayList<>();
        for (JsonNode file : List.of(compose, gpu)) {
            file.get("services").properties().forEach(service -> service.getValue().path("volumes").forEach(v -> {
                String host = expand(v.asString().split(":")[0]);
                if (host.startsWith(".")) {
                    assertThat(COMPOSE.resolve(host).normalize()).as("%s mounts %s", service.getKey(), v).exists();
                    checked.add(host);
                }
            }));
        }
        assertThat(checked).contains("./prometheus/prometheus.yml", "../prometheus/rules", "../../grafana/dashboards");
    }

    @Test
    void grafanaFindsTheDashboardsAndTheirDataSourceWhereItsProvisioningSaysTheyAre() {
        JsonNode grafana = compose.get("services").get("grafana");
        Map<String, String> mounts = mounts(grafana);
        // The provider file the repository ships is mounted, and the path it names is where the dashboards are.
        String providers = mounts.get("/etc/grafana/provisioning/dashboards");
        assertThat(providers).isEqualTo("../../grafana/provisioning/dashboards");
        JsonNode provider = Manifests.readYaml(COMPOSE.resolve(providers).resolve("diffq.yml")).get("providers").get(0);
        String dashboards = provider.get("options").get("path").asString();
        assertThat(mounts).containsEntry(dashboards, "../../grafana/dashboards");
        assertThat(COMPOSE.resolve("../../grafana/dashboards").normalize().toFile().list((d, n) -> n.endsWith(".json")))
                .hasSizeGreaterThanOrEqualTo(3);
        // The data source: the same uid as the one the dashboards are provisioned with elsewhere, at the
        // compose service that serves Prometheus, on the port it listens on.
        String datasources = mounts.get("/etc/grafana/provisioning/datasources/prometheus.yml");
        JsonNode ours = Manifests.readYaml(COMPOSE.resolve(datasources)).get("datasources").get(0);
        JsonNode shipped = Manifests.readYaml(Manifests.ROOT.resolve("grafana/provisioning/datasources/prometheus.yml"))
                .get("datasources").get(0);
        assertThat(ours.get("uid").asString()).isEqualTo(shipped.get("uid").asString());
        assertThat(ours.get("type").asString()).isEqualTo("prometheus");
        assertThat(ours.get("url").asString()).isEqualTo("http://prometheus:" + listenPort("prometheus"));
    }

    @Test
    void prometheusLoadsTheProjectsRulesAndScrapesTheServicesOnTheirManagementPorts() {
        Map<String, String> mounts = mounts(compose.get("services").get("prometheus"));
        JsonNode config = Manifests.readYaml(COMPOSE.resolve(mounts.get("/etc/prometheus/prometheus.yml")));
        // rule_files are relative to the config file's folder: rules/*.yml inside the rules mount.
        String ruleFiles = config.get("rule_files").get(0).asString();
        assertThat(Path.of("/etc/prometheus").resolve(ruleFiles).getParent().toString())
                .isEqualTo(mounts.entrySet().stream().filter(e -> e.getValue().equals("../prometheus/rules"))
                        .findFirst().orElseThrow().getKey());
        // The same jobs as the shipped config (the alert rules and dashboards select on them).
        JsonNode shipped = Manifests.readYaml(Manifests.ROOT.resolve("infra/prometheus/prometheus.yml"));
        assertThat(jobs(config)).isEqualTo(jobs(shipped));
        Map<String, String> targets = new TreeMap<>();
        config.get("scrape_configs").forEach(job -> job.path("dns_sd_configs").forEach(sd ->
                targets.put(sd.get("names").get(0).asString(), sd.get("port").asString())));
        assertThat(targets).containsExactly(Map.entry("gateway", "8081"), Map.entry("worker", "8091"),
                Map.entry("worker-sd", "8091"));
        assertThat(compose.get("services").has("gateway")).isTrue();
        assertThat(compose.get("services").has("worker")).isTrue();
        assertThat(config.get("alerting").get("alertmanagers").get(0).get("static_configs").get(0).get("targets")
                .get(0).asString()).isEqualTo("alertmanager:" + listenPort("alertmanager"));
    }

    @Test
    void theImagesAreTheOnesTheKubernetesManifestsDeploy() {
        Map<String, String> k8sCpu = images(Manifests.render("overlays/cpu"));
        Map<String, String> k8sGpu = images(Manifests.render("overlays/gpu"));
        assertThat(image(compose, "gateway")).isEqualTo(k8sCpu.get("diffq-gateway")).isEqualTo(k8sGpu.get("diffq-gateway"));
        assertThat(image(compose, "worker")).isEqualTo(k8sCpu.get("diffq-worker"));
        // The gpu overlay runs the CPU pool tiny beside the GPU pool sd (Deployment diffq-worker-sd), as the
        // Compose GPU file runs worker-sd beside worker.
        assertThat(k8sGpu.get("diffq-worker")).isEqualTo(k8sCpu.get("diffq-worker"));
        assertThat(image(gpu, "worker-sd")).isEqualTo(k8sGpu.get("diffq-worker-sd"));
        assertThat(image(gpu, "worker-sd")).startsWith("diffq/worker-cuda:");
    }

    /**
     * The GPU file adds a pool instead of replacing one: it leaves the CPU workers as they are and adds worker-sd,
     * on its own pool's lane; every worker reads its pool's lane, the gateway dispatches, and serves both pools'
     * models.
     */
    @Test
    void theGpuFileAddsAPoolBesideTheCpuWorkers() {
        assertThat(gpu.get("services").has("worker")).as("the GPU file overrides the CPU workers").isFalse();
        Map<String, String> cpu = environment(compose, "worker");
        Map<String, String> sd = environment(gpu, "worker-sd");
        assertThat(cpu).containsEntry("DIFFQ_WORKER_SOURCE", "lanes").containsEntry("DIFFQ_WORKER_POOL", "cpu")
                .containsEntry("DIFFQ_WORKER_MODELS", "simulated,tiny");
        assertThat(sd).containsEntry("DIFFQ_WORKER_SOURCE", "lanes").containsEntry("DIFFQ_WORKER_POOL", "sd")
                .containsEntry("DIFFQ_WORKER_MODELS", "sd");
        assertThat(environment(compose, "gateway")).containsEntry("DIFFQ_GATEWAY_DISPATCH_ENABLED", "true");
        Map<String, String> gateway = environment(gpu, "gateway");
        assertThat(gateway.get("DIFFQ_GATEWAY_MODELS_SERVED").split(","))
                .containsExactlyInAnyOrder("simulated", "tiny", "sd");
        assertThat(gateway).containsEntry("DIFFQ_GATEWAY_DISPATCH_POOLS_SD", "sd");
        // Both pools' workers can start on their own: worker-sd waits for the broker as worker does.
        assertThat(gpu.get("services").get("worker-sd").get("depends_on").has("kafka")).isTrue();
    }

    /** A service's environment, with ${NAME:-default} as compose reads it with NAME unset. */
    private static Map<String, String> environment(JsonNode file, String service) {
        Map<String, String> env = new TreeMap<>();
        file.get("services").get(service).get("environment").properties()
                .forEach(e -> env.put(e.getKey(), expand(e.getValue().asString())));
        return env;
    }

    private static Map<String, String> images(Manifests.Rendered rendered) {
        Map<String, String> images = new TreeMap<>();
        rendered.workloads().forEach(d -> images.put(d.name(),
                d.json().get("spec").get("template").get("spec").get("containers").get(0).get("image").asString()));
        return images;
    }

    private static String image(JsonNode file, String service) {
        return expand(file.get("services").get(service).get("image").asString());
    }

    private static TreeSet<String> jobs(JsonNode config) {
        TreeSet<String> jobs = new TreeSet<>();
        config.get("scrape_configs").forEach(j -> jobs.add(j.get("job_name").asString()));
        return jobs;
    }

    /** The port a Prometheus-family service listens on, from its --web.listen-address. */
    private String listenPort(String service) {
        for (JsonNode arg : compose.get("services").get(service).get("command")) {
            if (arg.asString().startsWith("--web.listen-address=:")) {
                return arg.asString().substring("--web.listen-address=:".length());
            }
        }
        throw new AssertionError(service + " has no --web.listen-address");
    }

    /** Container path → host path of a service's bind mounts. */
    private static Map<String, String> mounts(JsonNode service) {
        Map<String, String> mounts = new TreeMap<>();
        service.get("volumes").forEach(v -> {
            String[] parts = v.asString().split(":");
            mounts.put(parts[1], expand(parts[0]));
        });
        return mounts;
    }

    /** ${NAME:-default} as compose reads it with NAME unset. */
    private static String expand(String value) {
        Matcher m = DEFAULTED.matcher(value);
        return m.replaceAll(r -> Matcher.quoteReplacement(r.group(1)));
    }
}
