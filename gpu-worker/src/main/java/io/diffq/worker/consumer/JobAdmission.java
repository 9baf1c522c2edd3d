package io.diffq.worker.consumer;

import io.diffq.common.job.JobControl;
import io.diffq.common.job.JobEvent;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/**
 * What a worker decides about an acquired job record before it runs:
 * <ol>
 * <li>a record repeating an earlier record of its job id ({@link RepeatIndex}) is finished without running: the
 *     earlier record is the job. Only a submit with an {@code Idempotency-Key} (its request carries a
 *     fingerprint) has an id another submit can share; other jobs' ids are random, so they are not looked up;</li>
 * <li>a first delivery runs as attempt 1, with no broker round trip of its own;</li>
 * <li>a delivery after the first ran before: if the job's terminal event is already written ({@link JobHistory}),
 *     it is finished without running (an earlier worker lost the record after writing it); otherwise it runs as
 *     the broker's delivery count less the deliveries handed back on shutdown ({@link JobControls}).</li>
 * </ol>
 */
@Component
class JobAdmission implements JobLoop.Admission {

    private final RepeatIndex repeats;
    private final JobHistory history;
    private final JobControls controls;
    private final KafkaTemplate<String, byte[]> kafka;
    private final JobCodec codec;
    private final Clock clock;

    JobAdmission(RepeatIndex repeats, JobHistory history, JobControls controls, KafkaTemplate<String, byte[]> kafka,
            JobCodec codec, Clock clock) {
        this.repeats = repeats;
        this.history = history;
        this.controls = controls;
        this.kafka = kafka;
        this.codec = codec;
        this.clock = clock;
    }

    @Override
    public JobLoop.Admitted admit(ConsumerRecord<String, byte[]> record, int delivery) {
        if (mayRepeat(record) && repeats.repeats(record)) {
            return JobLoop.Admitted.skip("it repeats an earlier record of job " + record.key());
        }
        if (delivery <= 1 || record.key() == null) {
            return JobLoop.Admitted.run(Math.max(1, delivery));
        }
        Optional<JobEvent> terminal = history.terminal(record.key(), record.timestamp());
        if (terminal.isPresent()) {
            return JobLoop.Admitted.skip("job " + record.key() + " already ended " + terminal.get().state()
                    + " in attempt " + terminal.get().attempt());
        }
        return JobLoop.Admitted.run(Math.max(1, delivery - controls.handBacksBefore(record.key(), delivery)));
    }

    /** Whether the record is an idempotent submit's (or cannot be read: then the processor rejects it anyway). */
    private boolean mayRepeat(ConsumerRecord<String, byte[]> record) {
        try {
            return codec.readRequest(record.value()).fingerprint() != null;
        } catch (MalformedRecordException e) {
            return false;
        }
    }

    @Override
    public CompletableFuture<Void> handBack(ConsumerRecord<String, byte[]> record, int delivery) {
        if (record.key() == null) {
            return CompletableFuture.completedFuture(null);
        }
        Map.Entry<String, JobControl> control = JobControls.handBack(record.key(), delivery, clock.instant());
        int partition = JobControls.partitionOf(record.key(), kafka.partitionsFor(Topics.JOB_CONTROLS).size());
        return kafka.send(Topics.JOB_CONTROLS, partition, control.getKey(), codec.writeControl(control.getValue()))
                .thenApply(sent -> null);
    }
}
