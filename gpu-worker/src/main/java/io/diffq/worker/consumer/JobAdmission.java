package io.diffq.worker.consumer;

import io.diffq.common.job.JobControl;
import io.diffq.common.job.JobEvent;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import java.time.Clock;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/**
 * What a worker decides about an acquired job record before it runs:
 * <ol>
 * <li>a record repeating an earlier record of its job id ({@link RepeatIndex}) is finished without running: the
 *     earlier record is the job. Only a submit with an {@code Idempotency-Key} (its request carries a
 *     fingerprint) has an id another submit can share; other jobs' ids are random, so they are not looked up;</li>
 * <li>a job whose events say it ended ({@link JobEventsIndex}, tailed by every worker, no round trip) is finished
 *     without running, whatever the delivery count: the broker can give a record out again with the count it
 *     last persisted (fault campaign);</li>
 * <li>a first delivery of a job with no events yet runs as attempt 1, with no broker round trip of its own;</li>
 * <li>a delivery after the first (or a first one of a job with events, or one this worker ran: a count the broker
 *     reset) ran before: if the job's terminal event is already written ({@link JobHistory}), it is finished
 *     without running (an earlier worker lost the record after writing it); otherwise it runs as the later of
 *     the broker's delivery count less the deliveries handed back on shutdown ({@link JobControls}), and the
 *     attempt after the newest one started ({@link #attemptAfter}: the job's events, and what this worker
 *     admitted, which the index may not have read yet), unless that one was handed back. So a run never takes
 *     the number of a run before it, whatever the broker's count says (fault campaign, 42c0bca: seed 9, a
 *     worker given the same delivery count twice ran attempt 2 twice; seed 10, a worker given a reset count
 *     ran attempt 1 beside the worker still running attempt 1);</li>
 * <li>a record this worker ran to its terminal event already is finished without running, whatever its delivery
 *     count: the broker can give a record out again with the same count (its acknowledgement refused when the
 *     partition's leader moved, the in-flight state rebuilt from what the share coordinator had persisted;
 *     seen in the fault campaign, seed 4).</li>
 * </ol>
 */
@Component
class JobAdmission implements JobLoop.Admission {

    private static final Logger log = LoggerFactory.getLogger(JobAdmission.class);

    private final RepeatIndex repeats;
    private final JobEventsIndex events;
    private final JobHistory history;
    private final JobControls controls;
    private final KafkaTemplate<String, byte[]> kafka;
    private final JobCodec codec;
    private final Clock clock;

    JobAdmission(RepeatIndex repeats, JobEventsIndex events, JobHistory history, JobControls controls,
            KafkaTemplate<String, byte[]> kafka, JobCodec codec, Clock clock) {
        this.repeats = repeats;
        this.events = events;
        this.history = history;
        this.controls = controls;
        this.kafka = kafka;
        this.codec = codec;
        this.clock = clock;
    }

    /** Records this worker ran to their terminal events, the latest {@link #REMEMBERED}, by place in the log. */
    static final int REMEMBERED = 10_000;
    private final Map<String, Boolean> finishedHere = latest(REMEMBERED);

    /** Per job, the attempt this worker last admitted it to run, the latest {@link #REMEMBERED} jobs. */
    private final Map<String, Integer> admittedHere = latest(REMEMBERED);

    /** A map that keeps the {@code kept} keys first put most recently (insertion order), safe across threads. */
    private static <V> Map<String, V> latest(int kept) {
        return Collections.synchronizedMap(new LinkedHashMap<>(256, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
                return size() > kept;
            }
        });
    }

    @Override
    public void finished(ConsumerRecord<String, byte[]> record) {
        finishedHere.put(placeOf(record), Boolean.TRUE);
    }

    private static String placeOf(ConsumerRecord<String, byte[]> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    @Override
    public JobLoop.Admitted admit(ConsumerRecord<String, byte[]> record, int delivery) {
        if (finishedHere.containsKey(placeOf(record))) {
            return JobLoop.Admitted.skip("this worker ran it to its terminal event already (delivered again, "
                    + "delivery " + delivery + ")");
        }
        if (mayRepeat(record) && repeats.repeats(record)) {
            return JobLoop.Admitted.skip("it repeats an earlier record of job " + record.key());
        }
        if (record.key() == null) {
            return JobLoop.Admitted.run(Math.max(1, delivery));
        }
        Optional<JobEventsIndex.Seen> seen = events.seen(record.key());
        if (seen.isPresent() && seen.get().ended()) {
            return JobLoop.Admitted.skip("job " + record.key() + " already ended in attempt " + seen.get().attempt()
                    + " (its events; delivery " + delivery + ")");
        }
        Integer here = admittedHere.get(record.key());
        if (delivery <= 1 && seen.isEmpty() && here == null) {
            return admitted(record.key(), 1);
        }
        int newest = Math.max(seen.map(JobEventsIndex.Seen::attempt).orElse(0), here == null ? 0 : here);
        if (delivery <= 1) {
            log.info("{}-{}@{}: a first delivery of job {}, whose attempt {} started already: the broker's delivery "
                    + "count was reset (its leader moved?); reading the job's history", record.topic(),
                    record.partition(), record.offset(), record.key(), newest);
        }
        Optional<JobEvent> terminal = history.terminal(record.key(), record.timestamp());
        if (terminal.isPresent()) {
            return JobLoop.Admitted.skip("job " + record.key() + " already ended " + terminal.get().state()
                    + " in attempt " + terminal.get().attempt());
        }
        int byCount = Math.max(1, delivery - controls.handBacksBefore(record.key(), delivery));
        int attempt = attemptAfter(byCount, newest, newest > 0 && controls.handedBack(record.key(), newest));
        if (attempt > byCount) {
            log.info("{}-{}@{}: job {} runs as attempt {}, not {} as the broker's count says: attempt {} started "
                    + "already", record.topic(), record.partition(), record.offset(), record.key(), attempt, byCount,
                    newest);
        }
        return admitted(record.key(), attempt);
    }

    /**
     * The attempt a delivery runs as: the broker's count (less hand-backs), but never one that started already
     * and was not handed back.
     *
     * @param byCount          the broker's delivery count less the deliveries handed back before it, from 1
     * @param newest           the newest attempt known to have started (0: none)
     * @param newestHandedBack whether a delivery running {@code newest} was handed back on shutdown (it is run
     *                         again under its number)
     */
    static int attemptAfter(int byCount, int newest, boolean newestHandedBack) {
        return Math.max(byCount, newestHandedBack ? newest : newest + 1);
    }

    private JobLoop.Admitted admitted(String jobId, int attempt) {
        admittedHere.put(jobId, attempt);
        return JobLoop.Admitted.run(attempt);
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
    public CompletableFuture<Void> handBack(ConsumerRecord<String, byte[]> record, int delivery, int attempt) {
        if (record.key() == null) {
            return CompletableFuture.completedFuture(null);
        }
        // A worker hands back only on shutdown, so it never admits the record again: admittedHere stays as it is.
        Map.Entry<String, JobControl> control = JobControls.handBack(record.key(), delivery, attempt,
                clock.instant());
        int partition = JobControls.partitionOf(record.key(), kafka.partitionsFor(Topics.JOB_CONTROLS).size());
        return kafka.send(Topics.JOB_CONTROLS, partition, control.getKey(), codec.writeControl(control.getValue()))
                .thenApply(sent -> null);
    }
}
