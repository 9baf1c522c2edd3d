package io.diffq.common.kafka;

/** Topic names and the defaults they are created with. */
public final class Topics {

    /** Job requests, keyed by job id; its partitions bound worker parallelism. */
    public static final String JOBS = "diffq.jobs";
    /** Job events (state, attempt, progress, failure), keyed by job id. */
    public static final String JOB_EVENTS = "diffq.job-events";
    /** PNG bytes keyed by job id, metadata in headers. */
    public static final String RESULTS = "diffq.results";
    /** Client requests about jobs (cancel), keyed by job id; every worker reads all of it. */
    public static final String JOB_CONTROLS = "diffq.job-controls";
    /** Jobs that failed for good, with the failure as data. */
    public static final String JOBS_DLT = "diffq.jobs.dlt";
    /**
     * What each model can draw ({@code ModelCard}s), keyed by model name, as workers advertise them;
     * compacted, so it keeps the latest card of every model for as long as no tombstone removes it.
     */
    public static final String MODELS = "diffq.models";

    /**
     * The webhook outbox: one record per delivery due (and per retry), keyed by job id; what the gateways'
     * webhook senders consume, so an accepted delivery survives a restart.
     */
    public static final String WEBHOOKS = "diffq.webhooks";

    /**
     * The worker pools (docs/design/lanes.md §2), keyed by pool name, value a {@code Pool}: which models the
     * workers of each pool serve; compacted. Workers declare their pool here; gateways create its lane.
     */
    public static final String POOLS = "diffq.pools";

    /**
     * The dispatcher's lease: an empty single-partition topic; of the gateways in the consumer group
     * {@link #DISPATCH_GROUP}, the one assigned its partition leads.
     */
    public static final String DISPATCH = "diffq.dispatch";

    /** The classic consumer group whose holder of {@link #DISPATCH}'s partition is the dispatcher. */
    public static final String DISPATCH_GROUP = "diffq-dispatcher";

    /** A pool's lane topic name begins with this; the pool's name follows. */
    public static final String LANE_PREFIX = "diffq.lane.";

    /** The share group of the workers reading lanes: one group for every pool's lane. */
    public static final String LANE_GROUP = "diffq-lanes";

    /**
     * The lane of a worker pool: one partition, the jobs released to the pool, which its workers share (one
     * share consumer per device, subscribed to this topic alone).
     */
    public static String lane(String pool) {
        return LANE_PREFIX + io.diffq.common.model.Pool.requireName(pool);
    }

    /** The consumer group of the workers. */
    public static final String WORKER_GROUP = "diffq-workers";
    /**
     * In a worker's share consumer's client id, before the number of a device's second and later consumer
     * ({@code diffq.worker.consumers-per-device}): one device's members share what comes before it.
     */
    public static final String WORKER_CONSUMER_SUFFIX = "+";

    /** The device a member of {@link #WORKER_GROUP} consumes for, from its client id. */
    public static String workerDevice(String clientId) {
        int at = clientId.lastIndexOf(WORKER_CONSUMER_SUFFIX);
        return at < 0 ? clientId : clientId.substring(0, at);
    }

    /** Largest result record the topics, producers and consumers are sized for. */
    public static final int MAX_RESULT_BYTES = 16 * 1024 * 1024;

    private Topics() {
    }
}
