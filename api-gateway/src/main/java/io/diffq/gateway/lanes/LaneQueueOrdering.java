package io.diffq.gateway.lanes;

import io.diffq.common.job.JobStatus;
import io.diffq.common.job.Priority;
import io.diffq.common.model.Pool;
import io.diffq.gateway.queue.BacklogProperties;
import io.diffq.gateway.status.FleetStats;
import io.diffq.gateway.status.JobStatusView;
import io.diffq.gateway.status.QueueOrdering;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.stereotype.Component;

/**
 * Queue positions with lanes on ({@code docs/design/lanes.md} §6): every gateway runs the dispatcher's own rule
 * ({@link LaneScheduler}: priority classes with starvation credits, deficit round robin between keys) on a copy of
 * the jobs its view holds as waiting, and a job's position is the number of releases that rule makes before it to
 * the pools that serve its model. So a {@code high} job counts only what will really start before it, and a key's
 * job is not put behind another key's backlog.
 *
 * <p>Where it is not exact, and by how much:
 * <ul>
 * <li>The copy starts with no starvation credits and no deficits (the leader's are not shared): the order may
 * differ from the leader's by up to one round of keys, and by up to {@code starvation-credit} jobs per class.</li>
 * <li>Jobs already released to a lane and not yet started are still waiting in the view; the copy orders them
 * again, so a job that arrived after them can be shown before them: off by at most the jobs in flight to its pools
 * (devices × (1 + {@code ahead-per-device})).</li>
 * <li>Pools that serve the same model take turns one release each, whatever their sizes.</li>
 * <li>Past {@link #SIMULATED} releases (a cap on the work of one snapshot) the remaining jobs are counted in
 * priority, then acceptance order, behind what was simulated.</li>
 * <li>A job that arrived after the snapshot is counted behind every waiting job of its priority or above that its
 * pools serve, until the next snapshot (at most half a second).</li>
 * </ul>
 * A job whose model no pool serves is counted behind the jobs of its model before it in priority, then acceptance
 * order: it starts only when a pool for it appears.
 */
@Component
@ConditionalOnProperty(name = "diffq.gateway.dispatch.enabled", havingValue = "true")
class LaneQueueOrdering implements QueueOrdering {

    /** The most releases one snapshot simulates. */
    static final int SIMULATED = 10_000;

    private final DispatchProperties properties;
    private final PoolCatalog pools;
    private final JobStatusView view;
    private final FleetStats fleet;
    private final BacklogProperties backlog;

    LaneQueueOrdering(DispatchProperties properties, PoolCatalog pools, JobStatusView view, FleetStats fleet,
            BacklogProperties backlog) {
        this.properties = properties;
        this.pools = pools;
        this.view = view;
        this.fleet = fleet;
        this.backlog = backlog;
    }

    @Override
    public Snapshot snapshot() {
        List<JobStatusView.Waiting> waiting = new ArrayList<>();
        view.forEachWaiting(waiting::add);
        waiting.sort(LaneDispatcher.ACCEPTANCE_ORDER);
        List<LaneScheduler.Job> jobs = new ArrayList<>(waiting.size());
        Map<String, Instant> oldest = new HashMap<>();
        for (JobStatusView.Waiting w : waiting) {
            LaneScheduler.Job job = LaneDispatcher.job(w.request());
            jobs.add(job);
            if (w.request().createdAt() != null) {
                oldest.putIfAbsent(job.model(), w.request().createdAt());
            }
        }
        return snapshot(pools.pools(), jobs, oldest);
    }

    /**
     * The order of {@code waiting} (in acceptance order) over {@code pools}; {@code oldest}: when each model's oldest
     * waiting job was accepted.
     */
    Snapshot snapshot(List<Pool> pools, List<LaneScheduler.Job> waiting, Map<String, Instant> oldest) {
        Map<String, Double> costs = new HashMap<>();
        LaneScheduler scheduler = new LaneScheduler(properties.starvationCredit(),
                model -> costs.computeIfAbsent(model, m -> LaneDispatcher.cost(fleet, backlog, m)), properties::weight);
        Map<String, Route> routes = new HashMap<>();
        for (LaneScheduler.Job job : waiting) {
            scheduler.add(job);
            routes.computeIfAbsent(job.model(), m -> Route.of(m, pools));
        }
        Map<String, Long> releasedBy = new HashMap<>();
        Map<String, Long> ahead = new HashMap<>();
        long released = 0;
        boolean any = true;
        while (any && released < SIMULATED) {
            any = false;
            for (Pool pool : pools) {
                Optional<LaneScheduler.Job> next = scheduler.next(pool);
                if (next.isEmpty()) {
                    continue;
                }
                any = true;
                released++;
                ahead.put(next.get().id(), routes.get(next.get().model()).releases(releasedBy));
                releasedBy.merge(pool.name(), 1L, Long::sum);
            }
        }
        // What was not simulated (past the cap, or no pool serves it): by priority, then acceptance, per route.
        Map<String, Map<Priority, Long>> left = new HashMap<>();
        List<LaneScheduler.Job> rest = waiting.stream().filter(j -> !ahead.containsKey(j.id()))
                .sorted(Comparator.comparing(LaneScheduler.Job::priority)).toList();
        for (LaneScheduler.Job job : rest) {
            Route route = routes.get(job.model());
            Map<Priority, Long> counts = left.computeIfAbsent(route.key(), k -> new EnumMap<>(Priority.class));
            long before = counts.values().stream().mapToLong(Long::longValue).sum();
            ahead.put(job.id(), route.releases(releasedBy) + before);
            counts.merge(job.priority(), 1L, Long::sum);
        }
        // A job newer than the snapshot: behind every job of its route at its priority or above.
        Map<String, Map<Priority, Long>> byRoute = new HashMap<>();
        for (LaneScheduler.Job job : waiting) {
            byRoute.computeIfAbsent(routes.get(job.model()).key(), k -> new EnumMap<>(Priority.class))
                    .merge(job.priority(), 1L, Long::sum);
        }
        return new Snapshot() {
            @Override
            public OptionalLong ahead(JobStatus queued) {
                Long known = ahead.get(queued.id());
                if (known != null) {
                    return OptionalLong.of(known);
                }
                if (queued.request() == null) {
                    return OptionalLong.empty();
                }
                LaneScheduler.Job job = LaneDispatcher.job(queued.request());
                Map<Priority, Long> counts = byRoute.getOrDefault(Route.of(job.model(), pools).key(), Map.of());
                return OptionalLong.of(counts.entrySet().stream()
                        .filter(e -> e.getKey().compareTo(job.priority()) <= 0)
                        .mapToLong(Map.Entry::getValue).sum());
            }

            @Override
            public Set<String> sharing(String model) {
                Set<String> sharing = new TreeSet<>(Route.of(model, pools).models());
                sharing.add(model);
                return sharing;
            }

            @Override
            public Instant oldest(String model) {
                return oldest.get(model);
            }
        };
    }

    /** The pools that serve a model: who releases the jobs its jobs compete with. */
    private record Route(String key, List<String> pools, Set<String> models) {

        static Route of(String model, List<Pool> all) {
            List<String> names = new ArrayList<>();
            Set<String> models = new TreeSet<>();
            for (Pool p : all) {
                if (p.serves(model)) {
                    names.add(p.name());
                    models.addAll(p.models());
                }
            }
            // A model no pool serves waits on its own.
            return new Route(names.isEmpty() ? "unrouted:" + model : String.join(",", names), names, models);
        }

        long releases(Map<String, Long> releasedBy) {
            return pools.stream().mapToLong(p -> releasedBy.getOrDefault(p, 0L)).sum();
        }
    }
}
