package io.diffq.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The workers' ScaledObject: the fields of KEDA's v1alpha1 CRD only, the target, the bounds, one Prometheus
 * trigger on the gateways' backlog; and the replica arithmetic the live test applies to it.
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

    private final KedaScaledObject so = KedaScaledObject.read();

    @Test
    void usesOnlyFieldsOfTheCrd() {
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

    @Test
    void scalesTheWorkerDeploymentFromZeroUpToABudgetWithinTheShareGroupsMembers() {
        assertThat(map(so.document(), "metadata")).containsEntry("name", "diffq-worker");
        assertThat(map(so.spec(), "scaleTargetRef")).containsEntry("name", "diffq-worker")
                .containsEntry("kind", "Deployment");
        assertThat(so.minReplicaCount()).isZero();
        // The workers are members of a share group, which share the partitions of diffq.jobs (1 by default):
        // partitions no longer bound them. What does is the GPUs paid for (a budget, this file's choice) and
        // the broker's group.share.max.size, 200 members, one per device. KustomizeTests checks the rendered
        // worker's delivery against it (a consumer group would be bound by the job partitions).
        assertThat(so.maxReplicaCount()).as("maxReplicaCount: at least one worker, within group.share.max.size")
                .isBetween(1, 200);
        assertThat((Integer) so.spec().get("cooldownPeriod")).as("cooldown covers a model load")
                .isGreaterThanOrEqualTo(300);
    }

    @Test
    void scalesOnTheBacklogOfTheGatewaysTakenOnce() {
        assertThat(so.triggers()).singleElement().satisfies(t -> {
            assertThat(t).containsEntry("type", "prometheus").containsEntry("metricType", "AverageValue");
        });
        assertThat(so.metadata()).containsEntry("serverAddress", "http://prometheus-operated.monitoring.svc:9090")
                .containsEntry("activationThreshold", "0");
        // Every gateway exports the same backlog: max over them, never sum.
        assertThat(so.query()).startsWith("max(").contains("diffq_queue_backlog_seconds")
                .contains("application=\"diffq-gateway\"").doesNotContain("sum");
        assertThat(so.threshold()).isPositive();
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
