package io.diffq.gateway.queue;

import io.diffq.common.job.Priority;
import io.diffq.common.model.Pool;
import io.diffq.gateway.ApiClient;
import io.diffq.gateway.models.KnownModels;
import io.diffq.gateway.status.FleetStats;
import io.diffq.gateway.status.JobStatusView;
import io.diffq.gateway.status.QueuePositions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestAttribute;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /v1/queue}: the queue as a client sees it, model by model. Every gateway reads every job and
 * event, so each answers for the whole fleet.
 */
@RestController
class QueueController {

    /**
     * The queue.
     *
     * @param at      when it was read
     * @param waiting jobs no worker has taken, all models together
     * @param workers members of the worker group (idle ones too), all models together
     * @param models  each model known to the gateway or seen in a job
     * @param pools    with lanes, each pool of workers; absent without
     * @param unrouted with lanes, the waiting jobs whose model no pool serves (they wait for one); absent without
     * @param you     the caller's own waiting jobs and limit; absent when the API is open
     */
    record QueueView(Instant at, long waiting, int workers, List<ModelQueue> models, List<PoolQueue> pools,
            Long unrouted, You you) {
    }

    /**
     * One pool's queue (with lanes). A model that two pools serve counts in both.
     *
     * @param pool              the pool
     * @param models            the models it serves
     * @param devices           its devices: workers' devices assigned its lane
     * @param waiting           jobs of its models that no worker has started (released to its lane or not)
     * @param running           jobs of its models that a worker is running
     * @param oldestWaitSeconds how long the oldest of those waiting has waited; 0 when none waits
     */
    record PoolQueue(String pool, List<String> models, int devices, long waiting, long running,
            double oldestWaitSeconds) {
    }

    /**
     * The caller's own jobs, when an API key authenticated the request.
     *
     * @param key        the key's name
     * @param waiting    its jobs accepted and not yet started
     * @param maxWaiting the most it may have waiting ({@code max-waiting}); absent when it has no limit
     * @param maxPriority the most urgent priority its jobs may ask for ({@code max-priority})
     */
    record You(String key, long waiting, Integer maxWaiting, String maxPriority) {
    }

    /**
     * One model's queue.
     *
     * @param model               the model
     * @param waiting             its jobs no worker has taken
     * @param running             its jobs a worker is running
     * @param workers             workers serving it: those that reported one of its jobs in the last five
     *                            minutes; with a single model known, every member of the worker group
     * @param throughputPerMinute its jobs finished over the last minute
     * @param oldestWaitSeconds   how long its oldest waiting job has waited; 0 when none waits
     * @param oldestQueuedAt      when that job was accepted; absent when none waits
     */
    record ModelQueue(String model, long waiting, long running, int workers, double throughputPerMinute,
            double oldestWaitSeconds, Instant oldestQueuedAt) {
    }

    private final JobStatusView view;
    private final FleetStats fleet;
    private final QueuePositions positions;
    private final QueueMonitor monitor;
    private final KnownModels models;
    private final TenantQuota quota;
    private final Clock clock;
    private final ServingPools pools;
    private final boolean lanes;

    QueueController(JobStatusView view, FleetStats fleet, QueuePositions positions, QueueMonitor monitor,
            KnownModels models, TenantQuota quota, Clock clock, Optional<ServingPools> pools,
            @Value("${diffq.gateway.dispatch.enabled:false}") boolean lanes) {
        this.quota = quota;
        this.pools = pools.orElse(List::of);
        this.lanes = lanes;
        this.view = view;
        this.fleet = fleet;
        this.positions = positions;
        this.monitor = monitor;
        this.models = models;
        this.clock = clock;
    }

    @GetMapping(path = "/v1/queue", produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<QueueView> queue(@RequestAttribute(name = ApiClient.ATTRIBUTE, required = false) String key,
            @RequestAttribute(name = ApiClient.MAX_WAITING, required = false) Integer maxWaiting,
            @RequestAttribute(name = ApiClient.MAX_PRIORITY, required = false) Priority maxPriority) {
        Instant now = clock.instant();
        QueueSnapshot snapshot = monitor.snapshot();
        int groupMembers = snapshot.workers();
        Set<String> names = new TreeSet<>(models.names());
        names.addAll(view.models());
        var queued = view.queuedByModel();
        var running = view.runningByModel();
        List<ModelQueue> perModel = names.stream().map(model -> {
            Instant oldest = positions.oldestQueued(model).orElse(null);
            int workers = names.size() == 1 ? Math.max(groupMembers, fleet.activeWorkers(model))
                    : fleet.activeWorkers(model);
            double waited = oldest == null ? 0 : Math.max(0, Duration.between(oldest, now).toMillis() / 1000.0);
            return new ModelQueue(model, queued.getOrDefault(model, 0L), running.getOrDefault(model, 0L), workers,
                    Math.round(fleet.recentThroughput(model) * 60 * 100) / 100.0, waited, oldest);
        }).toList();
        long waiting = queued.values().stream().mapToLong(Long::longValue).sum();
        List<PoolQueue> perPool = null;
        Long unrouted = null;
        if (lanes) {
            List<Pool> all = pools.pools();
            perPool = all.stream().map(pool -> {
                double waited = pool.models().stream().map(positions::oldestQueued).flatMap(Optional::stream)
                        .map(t -> Math.max(0, Duration.between(t, now).toMillis() / 1000.0))
                        .max(Double::compare).orElse(0.0);
                return new PoolQueue(pool.name(), pool.models(),
                        snapshot.devicesByPool().getOrDefault(pool.name(), 0),
                        pool.models().stream().mapToLong(m -> queued.getOrDefault(m, 0L)).sum(),
                        pool.models().stream().mapToLong(m -> running.getOrDefault(m, 0L)).sum(), waited);
            }).toList();
            unrouted = queued.entrySet().stream().filter(e -> all.stream().noneMatch(p -> p.serves(e.getKey())))
                    .mapToLong(Map.Entry::getValue).sum();
        }
        return ResponseEntity.ok()
                .cacheControl(CacheControl.noStore())
                .body(new QueueView(now, waiting, groupMembers, perModel, perPool, unrouted,
                        key == null ? null : new You(key, quota.waiting(key), maxWaiting,
                                maxPriority == null ? null : maxPriority.apiName())));
    }
}
