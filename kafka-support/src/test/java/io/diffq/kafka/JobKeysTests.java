package io.diffq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.Progress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

class JobKeysTests {

    private static final String ID = "0b7e4c1e-2f55-4d0e-9a51-4a3c2a9c8d11";
    private static final Instant T = Instant.parse("2026-12-06T00:00:00Z");

    @Test
    void attemptOneKeepsTheBareIdAndALaterAttemptKeysItsStartApartFromTheRest() {
        assertThat(JobKeys.event(JobEvent.expired(ID, "w", "tiny", T))).isEqualTo(ID);
        assertThat(JobKeys.event(running(1, 0))).isEqualTo(ID);
        assertThat(JobKeys.event(running(1, 3))).isEqualTo(ID);
        assertThat(JobKeys.event(running(2, 0))).isEqualTo(ID + "#2#started");
        assertThat(JobKeys.event(running(2, 3))).isEqualTo(ID + "#2");
        assertThat(JobKeys.event(JobEvent.canceled(ID, 3, T, "w", "tiny", T))).isEqualTo(ID + "#3");
        assertThat(JobKeys.jobId(JobKeys.event(running(5, 0)))).isEqualTo(ID);
        assertThat(JobKeys.jobId(ID)).isEqualTo(ID);
    }

    private static JobEvent running(int attempt, int step) {
        return JobEvent.running(ID, attempt, T, "w", "tiny", new Progress(step, 4), T);
    }

    @Test
    void everyRecordOfAJobLiesWhereKafkasPartitionerPutsARecordKeyedByItsId() {
        for (int partitions : new int[] {1, 3, 12, 50}) {
            assertThat(JobKeys.partition(ID, partitions)).as("%d partitions", partitions).isEqualTo(
                    BuiltInPartitioner.partitionForKey(ID.getBytes(StandardCharsets.UTF_8), partitions));
        }
    }
}
