package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;

/**
 * What a worker remembers of the records it ran: the broker can give one out again with the same delivery count
 * (its acknowledgement refused when the partition's leader moved; fault campaign, seed 4), and then it must not
 * run again. A first delivery of a job that is not an idempotent submit needs nothing else to decide (no lookup).
 */
class JobAdmissionTests {

    private final JobCodec codec = new JobCodec();
    /** Events folded in by the test (the index is not started: it reads no topic). */
    private final JobEventsIndex events = new JobEventsIndex(new KafkaProperties(), Clock.systemUTC(), codec);
    /** No job has a terminal event to read back. */
    private final JobHistory history = new JobHistory(new KafkaProperties(), codec) {
        @Override
        synchronized Optional<JobEvent> terminal(String jobId, long since) {
            return Optional.empty();
        }
    };
    /** The attempts handed back on shutdown, per job (the test's stand-in for what the controls topic says). */
    private final Map<String, Integer> handedBack = new HashMap<>();
    private final JobControls controls = new JobControls(new KafkaProperties(), codec, Clock.systemUTC()) {
        @Override
        int handBacksBefore(String jobId, int delivery) {
            return handedBack.containsKey(jobId) ? 1 : 0;
        }

        @Override
        boolean handedBack(String jobId, int attempt) {
            return Integer.valueOf(attempt).equals(handedBack.get(jobId));
        }
    };
    /** No repeat index: these records are not idempotent submits, so it is never asked. */
    private final JobAdmission admission = new JobAdmission(null, events, history, controls, null, codec,
            Clock.systemUTC());

    @Test
    void aRecordThisWorkerRanToItsEndIsNotRunAgainWhenItComesBackWithTheSameDeliveryCount() {
        ConsumerRecord<String, byte[]> record = record(39);
        assertThat(admission.admit(record, 1)).isEqualTo(JobLoop.Admitted.run(1));

        admission.finished(record);

        assertThat(admission.admit(record, 1).skip()).contains("ran it to its terminal event already");
        assertThat(admission.admit(record(40), 1)).as("another record").isEqualTo(JobLoop.Admitted.run(1));
    }

    /**
     * The broker gave out the record of a job that another worker ran to its end with the count it had persisted
     * (its leader moved): the job's events say it ended, so it does not run again; a late write of an older
     * attempt does not end a job.
     */
    @Test
    void aJobWhoseEventsSayItEndedIsNotRunAgainWhateverItsDeliveryCount() {
        ConsumerRecord<String, byte[]> done = record(41);
        ConsumerRecord<String, byte[]> running = record(42);
        Instant t = Instant.now();
        events.remember(JobEvent.running(done.key(), 1, t, "w2", "simulated", new Progress(0, 4), t));
        events.remember(JobEvent.succeeded(done.key(), 1, t, "w2", "simulated", new Progress(4, 4), 5L,
                new ResultRef(0, 0, "image/png", 1), t));
        events.remember(JobEvent.running(running.key(), 2, t, "w2", "simulated", new Progress(0, 4), t));
        events.remember(JobEvent.canceled(running.key(), 1, t, "w1", "simulated", t));

        assertThat(admission.admit(done, 1).skip()).contains("already ended in attempt 1");
        assertThat(events.seen(running.key())).contains(new JobEventsIndex.Seen(2, false,
                events.seen(running.key()).orElseThrow().at()));
    }

    /**
     * The broker gave this worker the same record twice with delivery count 2 (fault campaign, 42c0bca seed 9),
     * the second time before the index had read the first run's RUNNING event: the second run is attempt 3, from
     * what this worker admitted, not attempt 2 again; the next delivery is attempt 4, past max-attempts 3, which
     * ends the job without running it.
     */
    @Test
    void aDeliveryCountGivenTwiceDoesNotRunTheSameAttemptTwice() {
        ConsumerRecord<String, byte[]> record = record(43);
        Instant t = Instant.now();
        events.remember(JobEvent.running(record.key(), 1, t, "w1", "simulated", new Progress(0, 4), t));

        assertThat(admission.admit(record, 2)).isEqualTo(JobLoop.Admitted.run(2));
        assertThat(admission.admit(record, 2)).as("the same count again").isEqualTo(JobLoop.Admitted.run(3));
        assertThat(admission.admit(record, 3)).isEqualTo(JobLoop.Admitted.run(4));
        assertThat(admission.admit(record(44), 1)).as("another job").isEqualTo(JobLoop.Admitted.run(1));
    }

    /**
     * A count reset to 1 on this worker, before the index read anything of the job: what this worker admitted
     * still counts.
     */
    @Test
    void aFirstDeliveryOfAJobThisWorkerStartedRunsTheNextAttempt() {
        ConsumerRecord<String, byte[]> record = record(45);
        assertThat(admission.admit(record, 1)).isEqualTo(JobLoop.Admitted.run(1));
        assertThat(admission.admit(record, 1)).isEqualTo(JobLoop.Admitted.run(2));
    }

    /** An attempt another worker handed back on shutdown runs again under its number. */
    @Test
    void anAttemptHandedBackRunsAgainUnderItsNumber() {
        ConsumerRecord<String, byte[]> record = record(46);
        Instant t = Instant.now();
        events.remember(JobEvent.running(record.key(), 1, t, "w1", "simulated", new Progress(0, 4), t));
        handedBack.put(record.key(), 1);

        assertThat(admission.admit(record, 2)).isEqualTo(JobLoop.Admitted.run(1));
    }

    @Test
    void anAttemptIsTheBrokersCountUnlessThatOneStartedAlreadyAndWasNotHandedBack() {
        assertThat(JobAdmission.attemptAfter(1, 0, false)).isEqualTo(1);
        assertThat(JobAdmission.attemptAfter(2, 1, false)).as("the usual second delivery").isEqualTo(2);
        assertThat(JobAdmission.attemptAfter(1, 1, false)).as("a count reset").isEqualTo(2);
        assertThat(JobAdmission.attemptAfter(1, 1, true)).as("handed back").isEqualTo(1);
        assertThat(JobAdmission.attemptAfter(3, 1, true)).as("the count is ahead").isEqualTo(3);
        assertThat(JobAdmission.attemptAfter(2, 3, false)).as("the events are ahead").isEqualTo(4);
    }

    private ConsumerRecord<String, byte[]> record(long offset) {
        JobRequest r = new JobRequest("job-" + offset, "a cat", "", 32, 32, 4, 7.5, 1, "simulated", null,
                Instant.now(), null, null);
        return new ConsumerRecord<>(Topics.JOBS, 1, offset, 1L, TimestampType.CREATE_TIME, -1, -1, r.id(),
                codec.writeRequest(r), new RecordHeaders(), Optional.empty(), Optional.of((short) 1));
    }
}
