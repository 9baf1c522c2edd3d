package io.diffq.observability;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * A worker pool's KEDA ScaledObject as data, and the replica count KEDA and the HPA it drives settle on for a
 * value of its Prometheus trigger's query. One per worker Deployment (pool): {@link #FILE} for the base's pool
 * tiny, {@link #SD_FILE} for the gpu overlay's pool sd.
 *
 * @param document the whole YAML document
 */
record KedaScaledObject(Map<String, Object> document) {

    static final Path FILE = Repo.ROOT.resolve("infra/k8s/base/worker-scaledobject.yaml");
    static final Path SD_FILE = Repo.ROOT.resolve("infra/k8s/overlays/gpu/worker-sd-scaledobject.yaml");
    /** Every pool's ScaledObject file. */
    static final List<Path> FILES = List.of(FILE, SD_FILE);
    private static final java.util.regex.Pattern POOL = java.util.regex.Pattern.compile("pool=\"([^\"]*)\"");
    /** The HPA's default tolerance: no change while the value is within 10% of the target. */
    static final double HPA_TOLERANCE = 0.1;

    static KedaScaledObject read() {
        return read(FILE);
    }

    static KedaScaledObject read(Path file) {
        try {
            Object doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(file));
            @SuppressWarnings("unchecked")
            Map<String, Object> map = (Map<String, Object>) doc;
            return new KedaScaledObject(map);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> spec() {
        return (Map<String, Object>) document.get("spec");
    }

    @SuppressWarnings("unchecked")
    List<Map<String, Object>> triggers() {
        return (List<Map<String, Object>>) spec().get("triggers");
    }

    /** The one trigger's metadata (KEDA's trigger metadata is a map of strings). */
    @SuppressWarnings("unchecked")
    Map<String, String> metadata() {
        return (Map<String, String>) triggers().get(0).get("metadata");
    }

    String query() {
        return metadata().get("query");
    }

    /** The pool the query selects ({@code pool="..."}); fails unless it names exactly one. */
    String pool() {
        List<String> pools = POOL.matcher(query()).results().map(m -> m.group(1)).toList();
        if (pools.size() != 1) {
            throw new AssertionError("the query names " + pools + ", not one pool: " + query());
        }
        return pools.get(0);
    }

    @SuppressWarnings("unchecked")
    String name() {
        return (String) ((Map<String, Object>) document.get("metadata")).get("name");
    }

    double threshold() {
        return Double.parseDouble(metadata().get("threshold"));
    }

    double activationThreshold() {
        return Double.parseDouble(metadata().getOrDefault("activationThreshold", "0"));
    }

    int minReplicaCount() {
        return ((Number) spec().getOrDefault("minReplicaCount", 0)).intValue();
    }

    int maxReplicaCount() {
        return ((Number) spec().getOrDefault("maxReplicaCount", 100)).intValue();
    }

    /**
     * The replica count a Deployment at {@code current} replicas settles on while the trigger's query returns
     * {@code value}, as KEDA and the HPA compute it (the behaviour's rate limits and stabilization windows only
     * delay it):
     * <ul>
     * <li>KEDA activates the trigger when {@code value > activationThreshold}. At 0 replicas an active trigger
     * scales to {@code max(minReplicaCount, 1)}; an inactive one at {@code minReplicaCount} 0 scales back to 0
     * after the cooldown period.</li>
     * <li>From one replica up the HPA scales on the value as an external metric of type {@code AverageValue}
     * with the threshold as its target: the desired count is {@code ceil(value / threshold)}, unless the value
     * per replica is within the tolerance of the target, clamped to {@code [max(minReplicaCount, 1),
     * maxReplicaCount]}; repeated until it no longer changes.</li>
     * </ul>
     */
    int replicas(double value, int current) {
        if (!(value > activationThreshold())) {
            return minReplicaCount() == 0 ? 0 : Math.max(current, minReplicaCount());
        }
        int floor = Math.max(minReplicaCount(), 1);
        int replicas = Math.max(current, floor);
        while (true) {
            double ratio = value / (threshold() * replicas);
            int next = Math.abs(ratio - 1) <= HPA_TOLERANCE ? replicas
                    : (int) Math.ceil(value / threshold());
            next = Math.min(Math.max(next, floor), maxReplicaCount());
            if (next == replicas) {
                return replicas;
            }
            replicas = next;
        }
    }
}
