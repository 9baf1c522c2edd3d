package io.diffq.gateway.lanes;

import io.diffq.common.model.Pool;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The dispatcher, under {@code diffq.gateway.dispatch} (docs/design/lanes.md §5).
 *
 * @param enabled           whether this gateway takes part in dispatching: one gateway of those enabled leads and
 *                          releases waiting jobs into the lanes of the worker pools that serve their models. Workers
 *                          then read lanes ({@code diffq.worker.source=lanes}). Off (the default): workers share
 *                          {@code diffq.jobs} and every worker serves every model
 * @param starvationCredit  releases a less urgent class may be passed over (while it has a job) before its next job
 *                          goes first: a {@code low} job waits at most this many + 1 releases of its pool
 * @param aheadPerDevice    jobs released to a pool beyond one per device, per device: a device finishing a job finds
 *                          the next one in its lane instead of waiting for the dispatcher; each is a job taken out of
 *                          the dispatcher's order
 * @param leaseSession      how long a leader that stopped answering keeps the lead (the classic group's session
 *                          timeout; the broker allows 6 s at least by default)
 * @param pools             pools declared up front, by name, each with its models separated by commas (a pool at zero
 *                          workers must be known so its jobs count toward its backlog); workers declare theirs on
 *                          {@code diffq.pools}. A string, not a list, so that an environment variable per pool binds
 *                          ({@code DIFFQ_GATEWAY_DISPATCH_POOLS_SD=sd}: Spring binds no list-valued map from the
 *                          environment)
 * @param weights           each API key's share of its pools, by the key's name (1 to 1000; a key not named weighs 1):
 *                          keys with jobs waiting in the same class take turns, and each turn a key may release jobs
 *                          worth its weight in device time, so a key of weight 3 gets about three times the jobs of a
 *                          key of weight 1 while both have jobs waiting. One variable per key
 *                          ({@code DIFFQ_GATEWAY_DISPATCH_WEIGHTS_INTERACTIVE=4}; a name with a hyphen needs a
 *                          configuration file: {@code diffq.gateway.dispatch.weights.[batch-renderer]=1})
 */
@ConfigurationProperties("diffq.gateway.dispatch")
public record DispatchProperties(
        @DefaultValue("false") boolean enabled,
        @DefaultValue("10") int starvationCredit,
        @DefaultValue("1") int aheadPerDevice,
        @DefaultValue("10s") Duration leaseSession,
        Map<String, String> pools,
        Map<String, Integer> weights) {

    public DispatchProperties {
        if (starvationCredit < 1 || starvationCredit > 1000) {
            throw new IllegalArgumentException("diffq.gateway.dispatch.starvation-credit must be 1 to 1000, not "
                    + starvationCredit);
        }
        if (aheadPerDevice < 0 || aheadPerDevice > 16) {
            throw new IllegalArgumentException("diffq.gateway.dispatch.ahead-per-device must be 0 to 16, not "
                    + aheadPerDevice);
        }
        if (leaseSession.compareTo(Duration.ofSeconds(6)) < 0 || leaseSession.compareTo(Duration.ofMinutes(5)) > 0) {
            throw new IllegalArgumentException("diffq.gateway.dispatch.lease-session must be 6s to 5m, not "
                    + leaseSession);
        }
        pools = pools == null ? Map.of() : Map.copyOf(pools);
        declaredPools(pools);
        weights = weights == null ? Map.of() : Map.copyOf(weights);
        weights.forEach((key, weight) -> {
            if (weight < 1 || weight > 1000) {
                throw new IllegalArgumentException("diffq.gateway.dispatch.weights." + key + " must be 1 to 1000, not "
                        + weight);
            }
        });
    }

    /** A key's weight in its pools' turns: as configured, else 1. */
    public double weight(String key) {
        return weights.getOrDefault(key, 1);
    }

    /** The pools declared here, checked as pools (names, models). */
    public List<Pool> declaredPools() {
        return declaredPools(pools);
    }

    private static List<Pool> declaredPools(Map<String, String> pools) {
        return new TreeMap<>(pools).entrySet().stream().map(e -> {
            try {
                return new Pool(e.getKey(), Arrays.stream(e.getValue().split(",")).map(String::strip).toList());
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("diffq.gateway.dispatch.pools." + e.getKey() + ": " + ex.getMessage(),
                        ex);
            }
        }).toList();
    }
}
