package io.diffq.kafka;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Utils;

/**
 * Keys and partitions of a job's records. Every record of one job lies in the partition its id hashes to, as
 * Kafka's default partitioner places a record keyed by the id, whatever the record's own key: a reader that
 * looks for a job reads one partition per topic.
 */
public final class JobKeys {

    /** Between the job id and what follows it in a key that is not the bare id. */
    public static final char SEPARATOR = '#';

    private JobKeys() {
    }

    /**
     * The key of an event of {@code attempt} on the compacted {@code diffq.job-events}: the job id for attempts 0
     * and 1, {@code <id>#<attempt>} for a later one. Compaction so keeps the last event of every attempt: a late
     * write of a worker that lost the job (paused past its lock; the broker had already given the job to another
     * worker as the next attempt) never replaces the newer attempt's last event, and every reader refuses it
     * ({@code JobStatus.apply}: an older attempt after a newer one).
     */
    public static String event(String jobId, int attempt) {
        return attempt <= 1 ? jobId : jobId + SEPARATOR + attempt;
    }

    /** The job id of a key made here, or the key itself when it is a bare id. */
    public static String jobId(String key) {
        int at = key.indexOf(SEPARATOR);
        return at < 0 ? key : key.substring(0, at);
    }

    /** The partition of every record of the job, among {@code partitions}. */
    public static int partition(String jobId, int partitions) {
        return Utils.toPositive(Utils.murmur2(jobId.getBytes(StandardCharsets.UTF_8))) % partitions;
    }
}
