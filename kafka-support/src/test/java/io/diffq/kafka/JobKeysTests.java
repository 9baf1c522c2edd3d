package io.diffq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

class JobKeysTests {

    private static final String ID = "0b7e4c1e-2f55-4d0e-9a51-4a3c2a9c8d11";

    @Test
    void attemptsZeroAndOneKeepTheBareIdAndLaterOnesTheirOwnKey() {
        assertThat(JobKeys.event(ID, 0)).isEqualTo(ID);
        assertThat(JobKeys.event(ID, 1)).isEqualTo(ID);
        assertThat(JobKeys.event(ID, 2)).isEqualTo(ID + "#2");
        assertThat(JobKeys.jobId(JobKeys.event(ID, 5))).isEqualTo(ID);
        assertThat(JobKeys.jobId(ID)).isEqualTo(ID);
    }

    @Test
    void everyRecordOfAJobLiesWhereKafkasPartitionerPutsARecordKeyedByItsId() {
        for (int partitions : new int[] {1, 3, 12, 50}) {
            assertThat(JobKeys.partition(ID, partitions)).as("%d partitions", partitions).isEqualTo(
                    BuiltInPartitioner.partitionForKey(ID.getBytes(StandardCharsets.UTF_8), partitions));
        }
    }
}
