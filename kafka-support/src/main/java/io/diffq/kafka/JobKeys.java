package io.diffq.kafka;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
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
     * The key of a job event on the compacted {@code diffq.job-events}: the job id for attempts 0 and 1; from
     * attempt 2 on, {@code <id>#<attempt>#started} for the attempt's first {@code RUNNING} event and
     * {@code <id>#<attempt>} for the rest. Compaction so keeps, besides the last event of attempt 1, the start
     * and the last event of every later attempt. A late write of a worker that lost the job (paused past its
     * lock; the broker had already given the job to another worker as the next attempt) then never replaces a
     * newer attempt's last event, and never stands before a newer attempt's events with nothing of that attempt
     * before it: every reader, restarted or not, refuses it ({@code JobStatus.apply}: an older attempt after a
     * newer one).
     */
    public static String event(JobEvent e) {
        if (e.attempt() <= 1) {
            return e.jobId();
        }
        boolean start = e.state() == JobState.RUNNING && (e.progress() == null || e.progress().step() == 0);
        return e.jobId() + SEPARATOR + e.attempt() + (start ? STARTED : "");
    }

    /** After the attempt in the key of an attempt's first {@code RUNNING} event. */
    static final String STARTED = "#started";

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
