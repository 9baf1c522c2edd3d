package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.job.JobRequest;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/**
 * What a worker remembers of the records it ran: the broker can give one out again with the same delivery count
 * (its acknowledgement refused when the partition's leader moved; fault campaign, seed 4), and then it must not
 * run again. A first delivery of a job that is not an idempotent submit needs nothing else to decide (no lookup).
 */
class JobAdmissionTests {

    private final JobCodec codec = new JobCodec();
    /** Nothing to look up for these records: no repeat index, history or controls are needed. */
    private final JobAdmission admission = new JobAdmission(null, null, null, null, codec, Clock.systemUTC());

    @Test
    void aRecordThisWorkerRanToItsEndIsNotRunAgainWhenItComesBackWithTheSameDeliveryCount() {
        ConsumerRecord<String, byte[]> record = record(39);
        assertThat(admission.admit(record, 1)).isEqualTo(JobLoop.Admitted.run(1));

        admission.finished(record);

        assertThat(admission.admit(record, 1).skip()).contains("ran it to its terminal event already");
        assertThat(admission.admit(record(40), 1)).as("another record").isEqualTo(JobLoop.Admitted.run(1));
    }

    private ConsumerRecord<String, byte[]> record(long offset) {
        JobRequest r = new JobRequest("job-" + offset, "a cat", "", 32, 32, 4, 7.5, 1, "simulated", null,
                Instant.now(), null, null);
        return new ConsumerRecord<>(Topics.JOBS, 1, offset, 1L, TimestampType.CREATE_TIME, -1, -1, r.id(),
                codec.writeRequest(r), new RecordHeaders(), Optional.empty(), Optional.of((short) 1));
    }
}
