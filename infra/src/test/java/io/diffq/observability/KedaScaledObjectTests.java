package io.diffq.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each worker pool's ScaledObject (the base's pool tiny, the gpu overlay's pool sd): the fields of KEDA's v1alpha1
 * CRD only, the target, the bounds, one Prometheus trigger on the pool's backlog; and the replica arithmetic the
 * live test applies to it.
 */
class KedaScaledObjectTests {

    // The properties KEDA's ScaledObject CRD (keda.sh_scaledobjects.yaml) declares at each level used here,
    // and the prometheus scaler's trigger metadata.
    private static final Set<String> SPEC = Set.of("scaleTargetRef", "pollingInterval", "cooldownPeriod",
            "initialCooldownPeriod", "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "fallback", "advanced",
            "triggers");
    private static final Set<String> ADVANCED = Set.of("horizontalPodAutoscalerConfig",
            "restoreToOriginalReplicaCount", "scalingModifiers");
    private static final Set<String> HPA_CONFIG = Set.of("name", "behavior");
    private static final Set<String> BEHAVIOR = Set.of("scaleUp", "scaleDown");
    private static final Set<String> RULES = Set.of("policies", "selectPolicy", "stabilizationWindowSeconds",
            "tolerance");
    private static final Set<String> POLICY = Set.of("type", "value", "periodSeconds");
    private static final Set<String> TARGET = Set.of("apiVersion", "kind", "name", "envSourceContainerName");
    private static final Set<String> TRIGGER = Set.of("type", "name", "metadata", "metricType", "useCachedMetrics",
            "authenticationRef");
    private static final Set<String> PROMETHEUS = Set.of("serverAddress", "query", "queryParameters", "threshold",
            "activationThreshold", "namespace", "customHeaders", "ignoreNullValues", "unsafeSsl", "awsRegion",
            "timeout", "identityOwner");

    static List<Path> files() {
        return KedaScaledObject.FILES;
    }

    private final KedaScaledObject so = KedaScaledObject.read();

    @ParameterizedTest
    @MethodSource("files")
    void usesOnlyFieldsOfTheCrd(Path file) {
        KedaScaledObject so = KedaScaledObject.read(file);
        Map<String, Object> spec = so.spec();
        assertThat(so.document()).containsEntry("apiVersion", "keda.sh/v1alpha1").containsEntry("kind", "ScaledObject");
        assertThat(spec.keySet()).isSubsetOf(SPEC);
        assertThat(map(spec, "scaleTargetRef").keySet()).isSubsetOf(TARGET);
        Map<String, Object> advanced = map(spec, "advanced");
        assertThat(advanced.keySet()).isSubsetOf(ADVANCED);
        Map<String, Object> hpa = map(advanced, "horizontalPodAutoscalerConfig");
        assertThat(hpa.keySet()).isSubsetOf(HPA_CONFIG);
        Map<String, Object> behavior = map(hpa, "behavior");
        assertThat(behavior.keySet()).isSubsetOf(BEHAVIOR);
        for (Object rules : behavior.values()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> r = (Map<String, Object>) rules;
            assertThat(r.keySet()).isSubsetOf(RULES);
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> policies = (List<Map<String, Object>>) r.get("policies");
            policies.forEach(p -> assertThat(p.keySet()).isSubsetOf(POLICY));
        }
        for (Map<String, Object> t : so.triggers()) {
            assertThat(t.keySet()).isSubsetOf(TRIGGER);
        }
        assertThat(so.metadata().keySet()).isSubsetOf(PROMETHEUS);
        // The CRD types trigger metadata as a map of strings: an unquoted number or boolean is rejected.
        so.metadata().values().forEach(v -> assertThat((Object) v).isInstanceOf(String.class));
        assertThat(spec.get("pollingInterval")).isInstanceOf(Integer.class);
        assertThat(spec.get("cooldownPeriod")).isInstanceOf(Integer.class);
    }

    @ParameterizedTest
    @MethodSource("files")
    void scalesItsPoolsWorkerDeploymentFromZeroUpToABudgetWithinTheShareGroupsMembers(Path file) {
        KedaScaledObject so = KedaScaledObject.read(file);
        String deployment = so.pool().equals("tiny") ? "diffq-worker" : "diffq-worker-" + so.pool();
        assertThat(so.name()).isEqualTo(deployment);
        assertThat(map(so.spec(), "scaleTargetRef")).containsEntry("name", deployment)
                .containsEntry("kind", "Deployment");
        assertThat(so.minReplicaCount()).isZero();
        // The workers are members of the share group diffq-lanes, which share their pool's one-partition lane:
        // partitions do not bound them. What does is the devices paid for (a budget, this file's choice) and
        // the broker's group.share.max.size, 200 members, one per device, all pools together. KustomizeTests
        // checks the sum over every rendered ScaledObject against it.
        assertThat(so.maxReplicaCount()).as("maxReplicaCount: at least one worker, within group.share.max.size")
                .isBetween(1, 200);
        assertThat((Integer) so.spec().get("cooldownPeriod")).as("cooldown covers a model load")
                .isGreaterThanOrEqualTo(300);
    }

    @ParameterizedTest
    @MethodSource("files")
    void scalesOnItsPoolsBacklogTakenOnce(Path file) {
        KedaScaledObject so = KedaScaledObject.read(file);
        assertThat(so.triggers()).singleElement().satisfies(t -> {
            assertThat(t).containsEntry("type", "prometheus").containsEntry("metricType", "AverageValue");
        });
        assertThat(so.metadata()).containsEntry("serverAddress", "http://prometheus-operated.monitoring.svc:9090")
                .containsEntry("activationThreshold", "0");
        // The pool's backlog, exported by the leading gateway: max, never sum.
        assertThat(so.query()).isEqualTo("max(diffq_pool_backlog_seconds{application=\"diffq-gateway\",pool=\""
                + so.pool() + "\"})");
        assertThat(so.threshold()).isPositive();
    }

    @Test
    void thePoolsAreTinyInTheBaseAndSdInTheGpuOverlay() {
        assertThat(KedaScaledObject.read(KedaScaledObject.FILE).pool()).isEqualTo("tiny");
        assertThat(KedaScaledObject.read(KedaScaledObject.SD_FILE).pool()).isEqualTo("sd");
    }

    @Test
    void replicasAreTheBacklogOverTheThresholdRoundedUpWithinTheBounds() {
        // threshold 30, activation 0, replicas 0..12 as the file says (checked above).
        assertThat(so.replicas(0, 0)).isZero();
        assertThat(so.replicas(0, 5)).as("scaled to zero after the cooldown").isZero();
        assertThat(so.replicas(0.001, 0)).as("any waiting job activates from zero").isEqualTo(1);
        assertThat(so.replicas(74, 0)).isEqualTo(3);
        assertThat(so.replicas(90.5, 0)).isEqualTo(4);
        assertThat(so.replicas(95, 3)).as("within the HPA's 10% tolerance of 3 × 30").isEqualTo(3);
        assertThat(so.replicas(1e6, 0)).isEqualTo(12);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> parent, String key) {
        assertThat(parent).containsKey(key);
        return (Map<String, Object>) parent.get(key);
    }
}
