package io.diffq.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.kafka.TopicSpec;
import io.diffq.deploy.Manifests.K8sObject;
import io.diffq.deploy.Manifests.Rendered;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/**
 * Every overlay under infra/k8s/overlays, rendered by {@code kubectl kustomize} and checked as one would before
 * applying it: each object against its kind's schema (kept in the repository, no cluster needed), then what the
 * schemas cannot know: that Prometheus finds the pods, that the worker's grace period covers its shutdown, that
 * the images are this version's, that the gateway accepts what the workers serve, and so on.
 */
class KustomizeTests {

    private static final Map<String, Rendered> RENDERED = new ConcurrentHashMap<>();
    private static final ManifestSchemas SCHEMAS = new ManifestSchemas();
    private static final Pattern DEFAULT_DURATION = Pattern.compile("@DefaultValue\\(\"([^\"]+)\"\\)\\s+Duration\\s+(\\w+)");
    private static final Pattern SIMPLE_DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");

    static List<String> overlays() {
        List<String> overlays = Manifests.overlays();
        assertThat(overlays).as("overlays under infra/k8s/overlays").contains("cpu", "gpu", "strimzi");
        return overlays;
    }

    /** The overlays and the base itself (which no one applies alone, but whose pools every overlay keeps). */
    static List<String> overlaysAndBase() {
        List<String> all = new ArrayList<>(overlays());
        all.add("base");
        return all;
    }

    private static Rendered rendered(String overlay) {
        return RENDERED.computeIfAbsent(overlay, o -> Manifests.render("overlays/" + o));
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void everyObjectIsValidByTheSchemaOfItsKind(String overlay) {
        Rendered r = rendered(overlay);
        assertThat(r.objects()).as(overlay + " renders objects").isNotEmpty();
        List<String> problems = new ArrayList<>();
        r.objects().forEach(o -> problems.addAll(SCHEMAS.problems(o)));
        assertThat(problems).as("schema violations in overlay " + overlay).isEmpty();
    }

    @Test
    void theOverlaysRenderTheExpectedKinds() {
        Set<String> common = Set.of("ConfigMap", "Deployment", "StatefulSet", "Service", "PodDisruptionBudget",
                "ScaledObject", "PodMonitor", "PrometheusRule");
        assertThat(kinds("cpu")).isEqualTo(common);
        assertThat(kinds("gpu")).isEqualTo(union(common, Set.of("PersistentVolumeClaim")));
        assertThat(kinds("strimzi")).isEqualTo(union(common, Set.of("Kafka", "KafkaNodePool", "KafkaTopic")));
        for (String overlay : overlays()) {
            Rendered r = rendered(overlay);
            assertThat(r.ofKind("Secret")).as(overlay + ": no secret value is ever part of the manifests").isEmpty();
            assertThat(r.objects()).as(overlay + ": every object in namespace diffq")
                    .allSatisfy(o -> assertThat(o.json().path("metadata").path("namespace").asString()).as(o.toString())
                            .isEqualTo("diffq"));
        }
    }

    @Test
    void theBaseNamesNoNamespace() {
        Rendered base = Manifests.render("base");
        assertThat(base.objects()).allSatisfy(o -> assertThat(o.json().path("metadata").has("namespace"))
                .as(o + " has a namespace").isFalse());
    }

    /** infra/prometheus/prometheus-kubernetes.yml keeps pods by their name label and a container port's name. */
    @ParameterizedTest
    @MethodSource("overlays")
    void prometheusPodDiscoveryAndThePodMonitorsFindEveryDeployment(String overlay) {
        Rendered r = rendered(overlay);
        Map<String, Pattern[]> jobs = discoveryJobs();
        for (K8sObject deployment : r.workloads()) {
            JsonNode labels = deployment.json().path("spec").path("template").path("metadata").path("labels");
            String name = labels.path("app.kubernetes.io/name").asString();
            List<String> ports = containerPortNames(deployment);
            List<String> matching = jobs.entrySet().stream()
                    .filter(j -> j.getValue()[0].matcher(name).matches())
                    .filter(j -> ports.stream().anyMatch(p -> j.getValue()[1].matcher(p).matches()))
                    .map(Map.Entry::getKey).toList();
            assertThat(matching).as(deployment + " (pod label app.kubernetes.io/name=" + name + ", ports " + ports
                    + ") is kept by exactly one job of prometheus-kubernetes.yml").containsExactly(name);
            assertThat(ports).as(deployment + " container ports").contains("management");

            List<K8sObject> monitors = r.ofKind("PodMonitor").stream().filter(m -> selects(m, labels)).toList();
            assertThat(monitors).as("PodMonitors selecting " + deployment).hasSize(1);
            JsonNode monitor = monitors.get(0).json().path("spec");
            assertThat(labels.path(monitor.path("jobLabel").asString()).asString())
                    .as(monitors.get(0) + ": jobLabel gives the job name the rules and dashboards use").isEqualTo(name);
            assertThat(monitor.path("podMetricsEndpoints")).isNotEmpty().allSatisfy(endpoint -> {
                assertThat(ports).contains(endpoint.path("port").asString());
                assertThat(endpoint.path("path").asString()).isEqualTo("/actuator/prometheus");
            });
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void theWorkersGracePeriodCoversTheShutdownGraceAndTheLongestJob(String overlay) {
        Rendered r = rendered(overlay);
        Map<String, Duration> defaults = workerDefaults();
        assertThat(workers(r)).as(overlay + " worker Deployments").isNotEmpty();
        for (K8sObject worker : workers(r)) {
            Map<String, String> env = environment(r, worker);
            Duration grace = env.containsKey("DIFFQ_WORKER_SHUTDOWN_GRACE")
                    ? duration(env.get("DIFFQ_WORKER_SHUTDOWN_GRACE")) : defaults.get("shutdownGrace");
            Duration longestJob = env.containsKey("DIFFQ_WORKER_MAX_JOB_DURATION")
                    ? duration(env.get("DIFFQ_WORKER_MAX_JOB_DURATION")) : defaults.get("maxJobDuration");
            JsonNode pod = podSpec(worker);
            long preStop = pod.path("containers").get(0).path("lifecycle").path("preStop").path("sleep").path("seconds")
                    .asLong(0);
            long period = pod.path("terminationGracePeriodSeconds").asLong(30);
            assertThat(period).as("%s %s: terminationGracePeriodSeconds >= preStop %d s + shutdown-grace %s + "
                    + "max-job-duration %s", overlay, worker, preStop, grace, longestJob)
                    .isGreaterThanOrEqualTo(preStop + grace.plus(longestJob).toSeconds());
            assertThat(worker.json().path("spec").has("replicas"))
                    .as(worker + " leaves replicas to KEDA").isFalse();
        }
    }

    /**
     * Workers run as pools on the lanes (docs/design/lanes.md §2): each worker Deployment is one pool, read from
     * its lane, declared on the gateway (so that a pool at zero workers is known and its jobs count toward its
     * backlog), and scaled by exactly one ScaledObject whose query is that pool's backlog.
     */
    @ParameterizedTest
    @MethodSource("overlaysAndBase")
    void eachWorkerPoolHasItsOwnScaledObjectOnItsBacklog(String kustomization) {
        Rendered r = kustomization.equals("base") ? Manifests.render("base") : rendered(kustomization);
        K8sObject gatewaySet = r.get("StatefulSet", "diffq-gateway");
        Map<String, String> gateway = environment(r, gatewaySet);
        assertThat(gateway.get("DIFFQ_GATEWAY_DISPATCH_ENABLED")).as(kustomization + ": the gateways dispatch")
                .isEqualTo("true");
        List<K8sObject> workers = workers(r);
        assertThat(workers).as(kustomization + " worker Deployments").isNotEmpty();
        List<K8sObject> scaledObjects = r.ofKind("ScaledObject");
        Set<String> pools = new TreeSet<>();
        for (K8sObject worker : workers) {
            Map<String, String> env = environment(r, worker);
            String where = kustomization + " " + worker;
            assertThat(env.get("DIFFQ_WORKER_SOURCE")).as(where + ": DIFFQ_WORKER_SOURCE").isEqualTo("lanes");
            String pool = env.get("DIFFQ_WORKER_POOL");
            assertThat(pool).as(where + ": DIFFQ_WORKER_POOL (one environment variable of the gateway names it: no "
                    + "'.', '-' or '_')").isNotNull().matches("[a-z0-9]+");
            assertThat(pools.add(pool)).as(where + ": pool " + pool + " is one Deployment's").isTrue();
            assertThat(worker.json().path("spec").path("selector").path("matchLabels").path("diffq.io/pool").asString())
                    .as(where + ": the selector (and so the HPA's) takes only this pool's pods").isEqualTo(pool);
            Set<String> models = new TreeSet<>(List.of(env.getOrDefault("DIFFQ_WORKER_MODELS", "").split(",")));
            String declared = gateway.get("DIFFQ_GATEWAY_DISPATCH_POOLS_" + pool.toUpperCase(java.util.Locale.ROOT));
            assertThat(declared).as(kustomization + ": the gateway declares pool " + pool).isNotNull();
            assertThat(new TreeSet<>(List.of(declared.split(",")))).as(kustomization + ": pool " + pool
                    + " declared with its workers' models (a worker refuses a pool declared with others)")
                    .isEqualTo(models);

            List<K8sObject> scaling = scaledObjects.stream().filter(so -> so.json().path("spec").path("scaleTargetRef")
                    .path("name").asString().equals(worker.name())).toList();
            assertThat(scaling).as(where + ": ScaledObjects targeting it").hasSize(1);
            JsonNode spec = scaling.get(0).json().path("spec");
            assertThat(spec.path("scaleTargetRef").path("kind").asString()).isEqualTo("Deployment");
            assertThat(spec.path("triggers")).as(scaling.get(0) + " triggers").hasSize(1);
            String query = spec.path("triggers").get(0).path("metadata").path("query").asString();
            assertThat(query).as(scaling.get(0) + " query").startsWith("max(")
                    .contains("diffq_pool_backlog_seconds{").contains("application=\"diffq-gateway\"")
                    .contains("pool=\"" + pool + "\"");
            assertThat(Pattern.compile("pool=\"([^\"]*)\"").matcher(query).results().map(m -> m.group(1)).toList())
                    .as(scaling.get(0) + ": the query names exactly its Deployment's pool").containsExactly(pool);
        }
        assertThat(scaledObjects).as(kustomization + ": one ScaledObject per worker Deployment, no other")
                .hasSize(workers.size());
        assertThat(gateway.keySet().stream().filter(k -> k.startsWith("DIFFQ_GATEWAY_DISPATCH_POOLS_"))
                .map(k -> k.substring("DIFFQ_GATEWAY_DISPATCH_POOLS_".length()).toLowerCase(java.util.Locale.ROOT)))
                .as(kustomization + ": the gateway declares no pool without a Deployment").containsExactlyInAnyOrderElementsOf(pools);
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void theScaledObjectsScaleTheWorkersWithinTheShareGroupsMembers(String overlay) {
        Rendered r = rendered(overlay);
        List<K8sObject> scaledObjects = r.ofKind("ScaledObject");
        assertThat(scaledObjects).isNotEmpty();
        // Every pool's devices are members of the one share group diffq-lanes: the bound is the broker's
        // group.share.max.size (200 members by default), one member per device of a worker, all pools together.
        int members = 0;
        for (K8sObject so : scaledObjects) {
            JsonNode spec = so.json().path("spec");
            K8sObject worker = r.get("Deployment", spec.path("scaleTargetRef").path("name").asString());
            int maxReplicas = spec.path("maxReplicaCount").asInt();
            assertThat(maxReplicas).as(so + " maxReplicaCount").isPositive();
            int devices = environment(r, worker).getOrDefault("DIFFQ_WORKER_DEVICES", "cpu").split(",").length;
            members += maxReplicas * devices;
        }
        assertThat(members).as(overlay + ": share group members with every pool at maxReplicaCount").isBetween(1, 200);
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void theImagesAreThisVersionsImages(String overlay) {
        Rendered r = rendered(overlay);
        String version = projectVersion();
        assertThat(image(r.get("StatefulSet", "diffq-gateway"))).isEqualTo("diffq/gateway:" + version);
        assertThat(image(r.get("Deployment", "diffq-worker"))).as(overlay + ": the CPU pool tiny")
                .isEqualTo("diffq/worker-cpu:" + version);
        if (overlay.equals("gpu")) {
            assertThat(image(r.get("Deployment", "diffq-worker-sd"))).isEqualTo("diffq/worker-cuda:" + version);
        }
    }

    /** The gpu overlay adds the GPU pool sd beside the base's CPU pool tiny; it does not replace it. */
    @Test
    void theGpuOverlayAddsAPoolWithAGpuPerWorkerAndTheStableDiffusionVolume() {
        Rendered r = rendered("gpu");
        assertThat(workers(r)).extracting(K8sObject::name).as("gpu overlay worker Deployments")
                .containsExactlyInAnyOrder("diffq-worker", "diffq-worker-sd");
        K8sObject worker = r.get("Deployment", "diffq-worker-sd");
        JsonNode pod = podSpec(worker);
        JsonNode container = pod.path("containers").get(0);
        assertThat(container.path("resources").path("limits").path("nvidia.com/gpu").asInt()).isEqualTo(1);
        assertThat(pod.path("tolerations")).anySatisfy(t -> assertThat(t.path("key").asString()).isEqualTo("nvidia.com/gpu"));
        assertThat(pod.path("nodeSelector").has("nvidia.com/gpu.present")).isTrue();

        Map<String, String> env = environment(r, worker);
        assertThat(env.get("DIFFQ_WORKER_POOL")).isEqualTo("sd");
        assertThat(List.of(env.get("DIFFQ_WORKER_MODELS").split(","))).containsExactly("sd");
        assertThat(env.get("DIFFQ_WORKER_DEVICES")).as("one consumer per GPU the pod sees").isEqualTo("all");
        String modelDir = env.get("DIFFQ_WORKER_STABLE_DIFFUSION_MODEL_DIR");
        assertThat(modelDir).as("diffq.worker.stable-diffusion.model-dir").isNotBlank();
        JsonNode mount = StreamSupport.stream(container.path("volumeMounts").spliterator(), false)
                .filter(m -> modelDir.startsWith(m.path("mountPath").asString() + "/"))
                .findFirst().orElseThrow(() -> new AssertionError("no volume mounted above " + modelDir));
        JsonNode volume = StreamSupport.stream(pod.path("volumes").spliterator(), false)
                .filter(v -> v.path("name").asString().equals(mount.path("name").asString())).findFirst().orElseThrow();
        String claim = volume.path("persistentVolumeClaim").path("claimName").asString();
        assertThat(claim).as("the model directory comes from a PersistentVolumeClaim, not the image").isNotBlank();
        r.get("PersistentVolumeClaim", claim);

        for (String overlay : List.of("cpu", "gpu", "strimzi")) {
            K8sObject cpu = rendered(overlay).get("Deployment", "diffq-worker");
            JsonNode limits = podSpec(cpu).path("containers").get(0).path("resources").path("limits");
            assertThat(limits.has("nvidia.com/gpu")).as(overlay + ": pool tiny's workers ask for no GPU").isFalse();
            assertThat(environment(rendered(overlay), cpu).get("DIFFQ_WORKER_DEVICES")).as(overlay + ": pool tiny")
                    .isEqualTo("cpu");
        }
    }

    /** With KEDA at zero workers no model is advertised: the gateway must accept the workers' models anyway. */
    @ParameterizedTest
    @MethodSource("overlays")
    void theGatewayAcceptsTheWorkersModelsWhileNoWorkerRuns(String overlay) {
        Rendered r = rendered(overlay);
        Map<String, String> gateway = environment(r, r.get("StatefulSet", "diffq-gateway"));
        Set<String> served = new TreeSet<>();
        for (K8sObject w : workers(r)) {
            Map<String, String> worker = environment(r, w);
            String sdName = worker.getOrDefault("DIFFQ_WORKER_STABLE_DIFFUSION_NAME", "sd");
            List.of(worker.getOrDefault("DIFFQ_WORKER_MODELS", "tiny").split(","))
                    .forEach(m -> served.add(m.equals("sd") ? sdName : m));
        }
        assertThat(List.of(gateway.getOrDefault("DIFFQ_GATEWAY_MODELS_SERVED", "").split(",")))
                .as(overlay + ": DIFFQ_GATEWAY_MODELS_SERVED").containsAll(served);
        assertThat(served).as(overlay + ": the gateway's default model is one the workers serve")
                .contains(gateway.getOrDefault("DIFFQ_GATEWAY_MODELS_DEFAULT_MODEL", "tiny"));
    }

    /**
     * The gateway writes its status store where the image says (or the manifests override): on a read-only root
     * that must be a writable volume of its own, or the gateway cannot start; and one that outlives the pod (a
     * claim of the StatefulSet, one per replica), or every rollout, eviction and node drain makes each replica
     * read every retained job again before it is ready.
     */
    @ParameterizedTest
    @MethodSource("overlays")
    void theGatewaysStatusStoreLiesOnAWritableVolume(String overlay) throws Exception {
        Rendered r = rendered(overlay);
        K8sObject gateway = r.get("StatefulSet", "diffq-gateway");
        String imageDefault = Files.readAllLines(Manifests.ROOT.resolve("infra/images/gateway/Dockerfile")).stream()
                .map(String::strip).filter(l -> l.startsWith("DIFFQ_GATEWAY_STATUS_DIR=")).findFirst()
                .map(l -> l.substring(l.indexOf('=') + 1).replace("\\", "").strip())
                .orElseThrow(() -> new AssertionError("the gateway image names no DIFFQ_GATEWAY_STATUS_DIR"));
        String dir = environment(r, gateway).getOrDefault("DIFFQ_GATEWAY_STATUS_DIR", imageDefault);
        JsonNode pod = podSpec(gateway);
        JsonNode mount = StreamSupport.stream(pod.path("containers").get(0).path("volumeMounts").spliterator(), false)
                .filter(m -> (dir + "/").startsWith(m.path("mountPath").asString() + "/"))
                .findFirst().orElseThrow(() -> new AssertionError("no volume mounted at or above " + dir));
        assertThat(mount.path("readOnly").asBoolean(false)).as("the status volume is writable").isFalse();
        assertThat(StreamSupport.stream(pod.path("volumes").spliterator(), false)
                .anyMatch(v -> v.path("name").asString().equals(mount.path("name").asString())))
                .as("not a pod volume (an emptyDir goes with the pod)").isFalse();
        JsonNode claim = StreamSupport.stream(gateway.json().path("spec").path("volumeClaimTemplates").spliterator(),
                false).filter(c -> c.path("metadata").path("name").asString().equals(mount.path("name").asString()))
                .findFirst().orElseThrow(() -> new AssertionError("no volume claim template " + mount.path("name")));
        assertThat(claim.path("spec").path("accessModes").toString()).contains("ReadWriteOnce");
        assertThat(claim.path("spec").path("resources").path("requests").path("storage").asString()).isNotBlank();
        assertThat(gateway.json().path("spec").path("persistentVolumeClaimRetentionPolicy").path("whenScaled")
                .asString()).as("a replica scaled away and back keeps its store").isEqualTo("Retain");
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void everyContainerRunsAsNonRootOnAReadOnlyRootFileSystem(String overlay) {
        Rendered r = rendered(overlay);
        for (K8sObject deployment : r.workloads()) {
            JsonNode pod = podSpec(deployment);
            assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).as(deployment + " runAsNonRoot").isTrue();
            assertThat(pod.path("securityContext").path("runAsUser").asInt()).as(deployment + " runAsUser").isEqualTo(10001);
            for (JsonNode c : pod.path("containers")) {
                JsonNode sc = c.path("securityContext");
                String where = deployment + " container " + c.path("name").asString();
                assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).as(where + " readOnlyRootFilesystem").isTrue();
                assertThat(sc.path("allowPrivilegeEscalation").asBoolean(true)).as(where + " allowPrivilegeEscalation").isFalse();
                assertThat(sc.path("capabilities").path("drop").toString()).as(where + " drops").contains("\"ALL\"");
                assertThat(c.path("volumeMounts")).as(where + " a writable /tmp")
                        .anySatisfy(m -> assertThat(m.path("mountPath").asString()).isEqualTo("/tmp"));
                assertThat(c.path("resources").path("requests").has("memory")).as(where + " requests").isTrue();
                assertThat(c.path("resources").path("limits").has("memory")).as(where + " limits").isTrue();
                for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
                    assertThat(c.path(probe).path("httpGet").path("port").asString()).as(where + " " + probe)
                            .isEqualTo("management");
                }
                assertThat(c.path("readinessProbe").path("httpGet").path("path").asString())
                        .isEqualTo("/actuator/health/readiness");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void everyConfigMapAContainerReadsIsRendered(String overlay) {
        Rendered r = rendered(overlay);
        for (K8sObject deployment : r.workloads()) {
            for (JsonNode c : podSpec(deployment).path("containers")) {
                for (JsonNode from : c.path("envFrom")) {
                    if (from.has("configMapRef") && !from.path("configMapRef").path("optional").asBoolean(false)) {
                        r.get("ConfigMap", from.path("configMapRef").path("name").asString());
                    }
                }
            }
        }
    }

    /** The job-id secret is read from a file (never an environment value), from a Secret the operator creates. */
    @ParameterizedTest
    @MethodSource("overlays")
    void theGatewayReadsTheJobIdSecretFromAMountedSecret(String overlay) {
        Rendered r = rendered(overlay);
        K8sObject gateway = r.get("StatefulSet", "diffq-gateway");
        String file = environment(r, gateway).get("DIFFQ_GATEWAY_JOB_ID_SECRET_FILE");
        assertThat(file).as("diffq.gateway.job-id-secret-file").isNotBlank();
        assertThat(environment(r, gateway)).doesNotContainKey("DIFFQ_GATEWAY_JOB_ID_SECRET");
        JsonNode pod = podSpec(gateway);
        JsonNode mount = StreamSupport.stream(pod.path("containers").get(0).path("volumeMounts").spliterator(), false)
                .filter(m -> file.startsWith(m.path("mountPath").asString() + "/")).findFirst()
                .orElseThrow(() -> new AssertionError("nothing mounted above " + file));
        JsonNode secret = StreamSupport.stream(pod.path("volumes").spliterator(), false)
                .filter(v -> v.path("name").asString().equals(mount.path("name").asString())).findFirst().orElseThrow()
                .path("secret");
        assertThat(secret.path("secretName").asString()).isEqualTo("diffq-job-id-secret");
        String fileName = file.substring(mount.path("mountPath").asString().length() + 1);
        assertThat(secret.path("items")).anySatisfy(i -> assertThat(i.path("path").asString()).isEqualTo(fileName));
    }

    /** The Strimzi overlay's topics are the ones the gateway would create, and the services talk to that cluster. */
    @Test
    void theStrimziTopicsAreTheGatewaysTopicsOnAThreeNodeCluster() {
        Rendered r = rendered("strimzi");
        Map<String, String> gateway = environment(r, r.get("StatefulSet", "diffq-gateway"));
        int partitions = Integer.parseInt(gateway.get("DIFFQ_TOPICS_PARTITIONS"));
        int jobPartitions = Integer.parseInt(gateway.get("DIFFQ_TOPICS_JOB_PARTITIONS"));
        int replicas = Integer.parseInt(gateway.get("DIFFQ_TOPICS_REPLICAS"));
        Duration ttl = gateway.containsKey("DIFFQ_TOPICS_RESULT_TTL") ? duration(gateway.get("DIFFQ_TOPICS_RESULT_TTL"))
                : Duration.ofHours(24);
        String minInSync = replicas >= 3 ? "2" : "1";

        Map<String, Map<String, String>> expected = new TreeMap<>();
        Map<String, Integer> expectedPartitions = new TreeMap<>();
        for (TopicSpec spec : TopicSpec.all(jobPartitions, partitions, ttl)) {
            Map<String, String> config = new TreeMap<>(spec.configs());
            config.put("min.insync.replicas", minInSync);
            expected.put(spec.name(), config);
            expectedPartitions.put(spec.name(), spec.partitions());
        }
        Map<String, Map<String, String>> actual = new TreeMap<>();
        Map<String, Integer> actualPartitions = new TreeMap<>();
        for (K8sObject topic : r.ofKind("KafkaTopic")) {
            JsonNode spec = topic.json().path("spec");
            String name = spec.path("topicName").asString(topic.name());
            Map<String, String> config = new TreeMap<>();
            spec.path("config").properties().forEach(e -> config.put(e.getKey(), e.getValue().asString()));
            actual.put(name, config);
            actualPartitions.put(name, spec.path("partitions").asInt());
            assertThat(spec.path("replicas").asInt()).as(topic + " replicas").isEqualTo(replicas);
            assertThat(topic.json().path("metadata").path("labels").path("strimzi.io/cluster").asString())
                    .isEqualTo(r.ofKind("Kafka").get(0).name());
        }
        assertThat(actual).as("KafkaTopic configs against common's TopicSpec.all").isEqualTo(expected);
        assertThat(actualPartitions).as("KafkaTopic partitions").isEqualTo(expectedPartitions);

        K8sObject kafka = r.ofKind("Kafka").get(0);
        JsonNode listener = kafka.json().path("spec").path("kafka").path("listeners").get(0);
        assertThat(gateway.get("SPRING_KAFKA_BOOTSTRAP_SERVERS"))
                .isEqualTo(kafka.name() + "-kafka-bootstrap:" + listener.path("port").asInt());
        for (K8sObject worker : workers(r)) {
            assertThat(environment(r, worker).get("SPRING_KAFKA_BOOTSTRAP_SERVERS")).as(worker.toString())
                    .isEqualTo(gateway.get("SPRING_KAFKA_BOOTSTRAP_SERVERS"));
        }
        JsonNode config = kafka.json().path("spec").path("kafka").path("config");
        assertThat(config.path("min.insync.replicas").asString()).isEqualTo(minInSync);
        assertThat(config.path("offsets.topic.replication.factor").asInt()).isEqualTo(replicas);
        assertThat(config.path("group.coordinator.append.linger.ms").asInt()).isZero();
        assertThat(config.path("message.max.bytes").asLong()).isGreaterThan(16L * 1024 * 1024);
        assertThat(config.path("replica.fetch.max.bytes").asLong()).isEqualTo(config.path("message.max.bytes").asLong());
        int nodes = r.ofKind("KafkaNodePool").stream()
                .filter(p -> p.json().path("spec").path("roles").toString().contains("\"broker\""))
                .mapToInt(p -> p.json().path("spec").path("replicas").asInt()).sum();
        assertThat(nodes).as("brokers").isGreaterThanOrEqualTo(replicas);

        for (String overlay : List.of("cpu", "gpu")) {
            assertThat(environment(rendered(overlay), rendered(overlay).get("StatefulSet", "diffq-gateway"))
                    .get("SPRING_KAFKA_BOOTSTRAP_SERVERS")).as(overlay + ": the base names no real cluster")
                    .endsWith(".invalid:9092");
        }
    }

    // --- helpers -------------------------------------------------------------------------------------------

    private static Set<String> kinds(String overlay) {
        return rendered(overlay).objects().stream().map(K8sObject::kind).collect(Collectors.toCollection(TreeSet::new));
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new TreeSet<>(a);
        u.addAll(b);
        return u;
    }

    /** The worker Deployments: those whose pods the worker scrape job keeps (app.kubernetes.io/name=diffq-worker). */
    private static List<K8sObject> workers(Rendered r) {
        return r.ofKind("Deployment").stream().filter(d -> podSpec(d).isObject() && d.json().path("spec")
                .path("template").path("metadata").path("labels").path("app.kubernetes.io/name").asString()
                .equals("diffq-worker")).toList();
    }

    private static JsonNode podSpec(K8sObject deployment) {
        return deployment.json().path("spec").path("template").path("spec");
    }

    private static String image(K8sObject deployment) {
        return podSpec(deployment).path("containers").get(0).path("image").asString();
    }

    private static List<String> containerPortNames(K8sObject deployment) {
        List<String> names = new ArrayList<>();
        podSpec(deployment).path("containers").forEach(c -> c.path("ports").forEach(p -> names.add(p.path("name").asString())));
        return names;
    }

    private static boolean selects(K8sObject monitor, JsonNode podLabels) {
        JsonNode match = monitor.json().path("spec").path("selector").path("matchLabels");
        return !match.isEmpty() && match.properties().stream()
                .allMatch(e -> e.getValue().asString().equals(podLabels.path(e.getKey()).asString()));
    }

    /**
     * The first container's environment as the kubelet would build it from envFrom ConfigMaps and plain values
     * (values from the downward API or secrets are left out).
     */
    private static Map<String, String> environment(Rendered r, K8sObject deployment) {
        JsonNode container = podSpec(deployment).path("containers").get(0);
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode from : container.path("envFrom")) {
            if (from.has("configMapRef")) {
                r.get("ConfigMap", from.path("configMapRef").path("name").asString()).json().path("data").properties()
                        .forEach(e -> env.put(from.path("prefix").asString("") + e.getKey(), e.getValue().asString()));
            }
        }
        for (JsonNode e : container.path("env")) {
            if (e.has("value")) {
                env.put(e.path("name").asString(), e.path("value").asString());
            }
        }
        return env;
    }

    /** Per job of prometheus-kubernetes.yml: the keep regexes on the pod's name label and on the port's name. */
    private static Map<String, Pattern[]> discoveryJobs() {
        JsonNode config = Manifests.readYaml(Manifests.ROOT.resolve("infra/prometheus/prometheus-kubernetes.yml"));
        Map<String, Pattern[]> jobs = new HashMap<>();
        for (JsonNode job : config.path("scrape_configs")) {
            if (!job.has("kubernetes_sd_configs")) {
                continue;
            }
            Pattern name = null;
            Pattern port = null;
            for (JsonNode relabel : job.path("relabel_configs")) {
                if (!"keep".equals(relabel.path("action").asString())) {
                    continue;
                }
                String source = relabel.path("source_labels").path(0).asString();
                Pattern regex = Pattern.compile(relabel.path("regex").asString("(.*)"));
                if (source.equals("__meta_kubernetes_pod_label_app_kubernetes_io_name")) {
                    name = regex;
                } else if (source.equals("__meta_kubernetes_pod_container_port_name")) {
                    port = regex;
                }
            }
            assertThat(name).as(job.path("job_name").asString() + " keeps pods by app.kubernetes.io/name").isNotNull();
            assertThat(port).as(job.path("job_name").asString() + " keeps a port by name").isNotNull();
            jobs.put(job.path("job_name").asString(), new Pattern[] {name, port});
        }
        assertThat(jobs).as("pod-discovery jobs in prometheus-kubernetes.yml").isNotEmpty();
        return jobs;
    }

    /** The Duration defaults of the worker's settings, read from WorkerProperties' source. */
    private static Map<String, Duration> workerDefaults() {
        try {
            String source = Files.readString(Manifests.ROOT.resolve("gpu-worker/src/main/java/io/diffq/worker/WorkerProperties.java"));
            Map<String, Duration> defaults = new HashMap<>();
            Matcher m = DEFAULT_DURATION.matcher(source);
            while (m.find()) {
                defaults.put(m.group(2), duration(m.group(1)));
            }
            assertThat(defaults).as("WorkerProperties' duration defaults").containsKeys("shutdownGrace", "maxJobDuration");
            return defaults;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A duration as Spring Boot reads one: {@code 30s}, {@code 10m}, {@code 500ms}, or ISO-8601. */
    static Duration duration(String text) {
        Matcher m = SIMPLE_DURATION.matcher(text.trim());
        if (!m.matches()) {
            return Duration.parse(text.trim());
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }

    /** The project's version, from the parent pom. */
    private static String projectVersion() {
        try {
            var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(Manifests.ROOT.resolve("pom.xml").toFile());
            var children = doc.getDocumentElement().getChildNodes();
            for (int i = 0; i < children.getLength(); i++) {
                if ("version".equals(children.item(i).getNodeName())) {
                    return children.item(i).getTextContent().trim();
                }
            }
            throw new AssertionError("pom.xml has no project version");
        } catch (Exception e) {
            throw new IllegalStateException("cannot read pom.xml", e);
        }
    }
}
