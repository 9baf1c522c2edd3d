package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.diffq.common.job.JobControl;
import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.Progress;
import io.diffq.common.job.ResultRef;
import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.kafka.JobKeys;
import io.diffq.testing.KafkaBrokerExtension;
import io.diffq.worker.WorkerApplication;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A job record the worker gets as a later delivery, on a real broker: a stand-in for a worker that was lost
 * takes the record first (delivery 1) and lets it go, having written what that worker would have; then the
 * worker gets delivery 2 and must read what happened before it.
 */
class RedeliveryIntegrationTests {

    @RegisterExtension
    static final KafkaBrokerExtension kafka = WorkerKafka.broker(1);

    private final JobCodec codec = new JobCodec();

    /** The lost worker wrote SUCCEEDED, but its ACCEPT never reached the broker: the job does not run again. */
    @Test
    void aJobDeliveredAgainAfterItsTerminalEventWasWrittenIsNotRunAgain() throws Exception {
        JobRequest job = job("already done");
        send(Topics.JOBS, job.id(), codec.writeRequest(job));
        takeFirstDeliveryAndLetItGo(() -> send(Topics.JOB_EVENTS, job.id(), codec.writeEvent(JobEvent.succeeded(
                job.id(), 1, Instant.now(), "lost-worker/cpu", "simulated", new Progress(4, 4), 5L,
                new ResultRef(0, 0, "image/png", 1), Instant.now()))));

        List<JobEvent> events = runWorkerUntilFinished(job);
        assertThat(events).extracting(e -> e.state() + " by " + e.worker())
                .containsExactly("SUCCEEDED by lost-worker/cpu");
    }

    /**
     * Attempt 1's worker, paused past its lock, wrote CANCELED after attempt 2 had started (a late write, which
     * every reader refuses); attempt 2's worker was lost too. The third delivery must run the job: it has not
     * ended, whatever the late write says.
     */
    @Test
    void aLateTerminalEventOfAnOlderAttemptDoesNotEndTheJob() throws Exception {
        JobRequest job = job("late write");
        send(Topics.JOBS, job.id(), codec.writeRequest(job));
        Instant first = Instant.now();
        takeDeliveryAndLetItGo(1, () -> send(Topics.JOB_EVENTS, job.id(), codec.writeEvent(JobEvent.running(
                job.id(), 1, first, "paused-worker/cpu", "simulated", new Progress(0, 4), first))));
        Instant second = Instant.now();
        takeDeliveryAndLetItGo(2, () -> {
            JobEvent started = JobEvent.running(job.id(), 2, second, "lost-worker/cpu", "simulated",
                    new Progress(0, 4), second);
            send(Topics.JOB_EVENTS, JobKeys.event(started), codec.writeEvent(started));
            send(Topics.JOB_EVENTS, job.id(), codec.writeEvent(JobEvent.canceled(job.id(), 1, first,
                    "paused-worker/cpu", "simulated", new Progress(1, 4), Instant.now())));
        });

        List<JobEvent> events = runWorkerUntilFinished(job);
        assertThat(events).extracting(e -> e.state() + "/" + e.attempt()).endsWith("SUCCEEDED/3");
    }

    /**
     * A worker ran the job to its end, but the broker gives its record out again as a first delivery (the count
     * it had persisted: the share partition's leader moved before the acknowledgement; fault campaign): the job's
     * events say it ended, so it does not run again.
     */
    @Test
    void aFirstDeliveryOfAJobWhoseEventsSayItEndedDoesNotRunIt() throws Exception {
        JobRequest job = job("ran elsewhere");
        send(Topics.JOBS, job.id(), codec.writeRequest(job));
        Instant t = Instant.now();
        send(Topics.JOB_EVENTS, job.id(), codec.writeEvent(JobEvent.running(job.id(), 1, t, "other-worker/cpu",
                "simulated", new Progress(0, 4), t)));
        send(Topics.JOB_EVENTS, job.id(), codec.writeEvent(JobEvent.succeeded(job.id(), 1, t, "other-worker/cpu",
                "simulated", new Progress(4, 4), 5L, new ResultRef(0, 0, "image/png", 1), t)));

        List<JobEvent> events = runWorkerUntilFinished(job);
        assertThat(events).extracting(e -> e.state() + " by " + e.worker())
                .containsExactly("RUNNING by other-worker/cpu", "SUCCEEDED by other-worker/cpu");
    }

    /**
     * The first delivery started attempt 1 and was handed back on shutdown (and said so): the second one runs
     * attempt 1 again.
     */
    @Test
    void aDeliveryAfterAHandBackRunsTheSameAttempt() throws Exception {
        JobRequest job = job("handed back");
        send(Topics.JOBS, job.id(), codec.writeRequest(job));
        takeFirstDeliveryAndLetItGo(() -> {
            Instant t = Instant.now();
            send(Topics.JOB_EVENTS, job.id(), codec.writeEvent(JobEvent.running(job.id(), 1, t,
                    "stopping-worker/cpu", "simulated", new Progress(0, 4), t)));
            Map.Entry<String, JobControl> back = JobControls.handBack(job.id(), 1, 1, Instant.now());
            send(Topics.JOB_CONTROLS, back.getKey(), codec.writeControl(back.getValue()));
        });

        List<JobEvent> events = runWorkerUntilFinished(job);
        assertThat(events).extracting(e -> e.state() + "/" + e.attempt()).endsWith("SUCCEEDED/1")
                .allMatch(s -> s.endsWith("/1"));
    }

    /**
     * Another worker is running attempt 1 (its RUNNING event is on the topic; it neither ended nor handed it
     * back) when the broker gives the record out again with a count reset to 1 (its share partition's leader
     * moved; fault campaign, 42c0bca seed 10): this worker runs it as attempt 2, not beside attempt 1 under the
     * same number, so the other worker's late end is refused by every reader and the job shows one end.
     */
    @Test
    void aFirstDeliveryOfAJobWhoseAttemptOneIsRunningElsewhereRunsAsAttemptTwo() throws Exception {
        JobRequest job = job("running elsewhere");
        send(Topics.JOBS, job.id(), codec.writeRequest(job));
        Instant t = Instant.now();
        send(Topics.JOB_EVENTS, job.id(), codec.writeEvent(JobEvent.running(job.id(), 1, t, "other-worker/cpu",
                "simulated", new Progress(0, 4), t)));

        List<JobEvent> events = runWorkerUntilFinished(job);
        assertThat(events).extracting(e -> e.state() + "/" + e.attempt() + " by " + e.worker())
                .containsExactly("RUNNING/1 by other-worker/cpu", "RUNNING/2 by worker-b/cpu",
                        "SUCCEEDED/2 by worker-b/cpu");
    }

    private interface Step {
        void run() throws Exception;
    }

    /** Acquires the job (delivery 1) in the workers' share group, does what the lost worker did, releases it. */
    private void takeFirstDeliveryAndLetItGo(Step lostWorkerWrites) throws Exception {
        takeDeliveryAndLetItGo(1, lostWorkerWrites);
    }

    /** As {@link #takeFirstDeliveryAndLetItGo}, for the {@code delivery}th delivery. */
    private void takeDeliveryAndLetItGo(int delivery, Step lostWorkerWrites) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, Topics.WORKER_GROUP),
                    List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"),
                            AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        }
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, Topics.WORKER_GROUP);
        config.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
        config.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
        try (KafkaShareConsumer<String, byte[]> lost = new KafkaShareConsumer<>(config, new StringDeserializer(),
                new ByteArrayDeserializer())) {
            lost.subscribe(List.of(Topics.JOBS));
            List<ConsumerRecord<String, byte[]>> got = new ArrayList<>();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                lost.poll(Duration.ofMillis(200)).forEach(got::add);
                return !got.isEmpty();
            });
            assertThat(got.get(0).deliveryCount()).contains((short) delivery);
            lostWorkerWrites.run();
            lost.acknowledge(got.get(0), AcknowledgeType.RELEASE);
            lost.commitSync();
        }
    }

    /** Runs a worker until the share group has finished every record, then reads the job's events. */
    private List<JobEvent> runWorkerUntilFinished(JobRequest job) throws Exception {
        try (ConfigurableApplicationContext worker = new SpringApplicationBuilder(WorkerApplication.class).run(
                "--server.port=0",
                "--spring.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "--diffq.worker.id=worker-b",
                "--diffq.worker.models=simulated",
                "--diffq.worker.simulated.latency=20ms",
                "--diffq.worker.shutdown-grace=5s")) {
            long records = WorkerKafka.endOffsets(kafka.bootstrapServers(), Topics.JOBS);
            await().atMost(Duration.ofSeconds(60)).until(() -> WorkerKafka.finishedJobs(kafka.bootstrapServers())
                    == records);
        }
        List<JobEvent> events = new ArrayList<>();
        // Every event on the topic once the worker is done, this job's and the others'.
        long written = WorkerKafka.endOffsets(kafka.bootstrapServers(), Topics.JOB_EVENTS);
        long[] read = {0};
        try (KafkaConsumer<String, byte[]> consumer = WorkerKafka.consumer(kafka.bootstrapServers())) {
            consumer.subscribe(List.of(Topics.JOB_EVENTS));
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    read[0]++;
                    if (JobKeys.jobId(r.key()).equals(job.id())) {
                        events.add(codec.readEvent(r.value()));
                    }
                }
                return read[0] >= written && events.stream().anyMatch(e -> e.state() == JobState.SUCCEEDED);
            });
        }
        return events;
    }

    private void send(String topic, String key, byte[] value) throws Exception {
        try (KafkaProducer<String, byte[]> producer = WorkerKafka.producer(kafka.bootstrapServers(), Map.of())) {
            producer.send(new ProducerRecord<>(topic, key, value)).get(10, TimeUnit.SECONDS);
        }
    }

    private static JobRequest job(String prompt) {
        return new JobRequest(UUID.randomUUID().toString(), prompt, "", 8, 8, 4, 7.5, 1, "simulated", null,
                Instant.now(), null, null);
    }
}
