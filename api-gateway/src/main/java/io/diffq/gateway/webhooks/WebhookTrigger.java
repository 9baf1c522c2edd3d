package io.diffq.gateway.webhooks;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobStatus;
import io.diffq.common.json.JobCodec;
import io.diffq.common.json.MalformedRecordException;
import io.diffq.common.kafka.Topics;
import io.diffq.gateway.status.EventVerdicts;
import io.diffq.gateway.status.JobStatusView;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.BatchMessageListener;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.DefaultAfterRollbackProcessor;
import org.springframework.kafka.listener.KafkaMessageListenerContainer;
import org.springframework.kafka.transaction.KafkaTransactionManager;
import org.springframework.stereotype.Component;
import org.springframework.util.backoff.FixedBackOff;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Turns job events into webhook deliveries, exactly once: a consumer group ({@value #GROUP}) reads
 * {@code diffq.job-events}, and for each event a job's webhook asked for writes one {@link Delivery} to the outbox
 * ({@code diffq.webhooks}) in a Kafka transaction that also commits the consumed offsets. A gateway that stops or
 * crashes mid-batch leaves the transaction aborted and the offsets where they were: the next owner of the
 * partition writes the batch's deliveries once, never twice and never not at all.
 *
 * <p>Which webhook a job has comes from its request, held by the status view; an event the view's fold refused (a
 * late write of an attempt that lost its job, anything after a job's end) is not announced, judged by the event's
 * place in the topic however far the view has read since. Each delivery's {@code webhook-id} is derived from the
 * event's place in the topic, so it names the event on every try of every sender.
 */
@Component
class WebhookTrigger implements SmartLifecycle, DisposableBean {

    static final String GROUP = "diffq-webhook-trigger";
    private static final Logger log = LoggerFactory.getLogger(WebhookTrigger.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration RETRY = Duration.ofSeconds(1);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final KafkaProperties kafka;
    private final WebhookProperties properties;
    private final JobStatusView view;
    private final JobSnapshots snapshots;
    private final Clock clock;
    private final JobCodec codec = new JobCodec();
    private final DeliveryCodec deliveries = new DeliveryCodec();

    /**
     * What was taken of each job, of the jobs seen last (the trigger's thread only): for the events the view cannot
     * judge.
     */
    private final Map<String, Seen> seen = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Seen> eldest) {
            return size() > 100_000;
        }
    };

    /**
     * The newest attempt of a job's events taken so far, whether one of them was terminal, and the offset of the last
     * one taken: a batch read again after its transaction failed must not be judged by what its first read took.
     */
    private record Seen(int attempt, boolean ended, long offset) {
        static final Seen NONE = new Seen(0, false, -1);
    }

    private volatile KafkaMessageListenerContainer<String, byte[]> container;
    private volatile DefaultKafkaProducerFactory<String, byte[]> producers;

    WebhookTrigger(KafkaProperties kafka, WebhookProperties properties, JobStatusView view, JobSnapshots snapshots,
            Clock clock) {
        this.kafka = kafka;
        this.properties = properties;
        this.view = view;
        this.snapshots = snapshots;
        this.clock = clock;
    }

    @Override
    public void start() {
        if (!properties.active()) {
            log.info("webhooks are off (diffq.gateway.webhooks.enabled or .secrets not set): jobs may not name one");
            return;
        }
        if (container == null) {
            container = newContainer();
        }
        container.start();
    }

    /**
     * spring-kafka's consume → produce loop: each poll's records are handed to {@link #trigger} inside a Kafka
     * transaction that also carries the consumed offsets; a failure aborts it, and the batch is read again a second
     * later (the same webhook ids come out), for as long as it takes.
     */
    private KafkaMessageListenerContainer<String, byte[]> newContainer() {
        Map<String, Object> producer = new HashMap<>(kafka.buildProducerProperties());
        producer.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        producer.put(ProducerConfig.ACKS_CONFIG, "all");
        producer.put(ProducerConfig.CLIENT_ID_CONFIG, "diffq-webhook-trigger-producer");
        DefaultKafkaProducerFactory<String, byte[]> producers =
                new DefaultKafkaProducerFactory<>(producer, new StringSerializer(), new ByteArraySerializer());
        // Unique per instance: since KIP-447 a stale member is fenced by the group's generation, not by the id.
        producers.setTransactionIdPrefix("diffq-webhook-trigger-" + UUID.randomUUID() + "-");
        this.producers = producers;
        KafkaTemplate<String, byte[]> outbox = new KafkaTemplate<>(producers);

        ContainerProperties props = new ContainerProperties(Topics.JOB_EVENTS);
        props.setGroupId(GROUP);
        props.setClientId("diffq-webhook-trigger");
        props.setPollTimeout(POLL.toMillis());
        props.setKafkaAwareTransactionManager(new KafkaTransactionManager<>(producers));
        props.setMessageListener((BatchMessageListener<String, byte[]>) records -> trigger(records, outbox));
        KafkaMessageListenerContainer<String, byte[]> c = new KafkaMessageListenerContainer<>(
                new DefaultKafkaConsumerFactory<>(OutboxClients.consumerConfig(kafka), new StringDeserializer(),
                        new ByteArrayDeserializer()), props);
        c.setBeanName("diffq-webhook-trigger");
        c.setClientIdSuffix("-" + UUID.randomUUID());
        c.setAfterRollbackProcessor(new DefaultAfterRollbackProcessor<>(
                new FixedBackOff(RETRY.toMillis(), FixedBackOff.UNLIMITED_ATTEMPTS)));
        return c;
    }

    /** Writes the batch's deliveries (inside the container's transaction). */
    private void trigger(List<ConsumerRecord<String, byte[]>> records, KafkaTemplate<String, byte[]> outbox) {
        for (ConsumerRecord<String, byte[]> r : records) {
            delivery(r).ifPresent(d -> outbox.send(Topics.WEBHOOKS, d.jobId(), deliveries.write(d)));
        }
    }

    /** The delivery the event calls for, if its job's webhook wants it. */
    private Optional<Delivery> delivery(ConsumerRecord<String, byte[]> r) {
        if (r.value() == null) {
            return Optional.empty();
        }
        JobEvent event;
        try {
            event = codec.readEvent(r.value());
        } catch (MalformedRecordException e) {
            log.warn("webhook trigger: skipping unreadable event {}-{}@{}", r.topic(), r.partition(), r.offset());
            return Optional.empty();
        }
        Optional<WebhookEvent> kind = WebhookEvent.of(event);
        // An event older than the retry horizon would be given up at once: a group that starts from the
        // beginning of the topic (the first gateway with webhooks) does not announce the past.
        if (kind.isEmpty() || event.at().isBefore(clock.instant().minus(properties.horizon()))) {
            return Optional.empty();
        }
        // The view's fold refused it or took it where it lies in the topic; its own state by now may be further on
        // (a newer attempt), which must not silence an older attempt's event that came before it.
        EventVerdicts.Verdict verdict = view.verdict(r.partition(), r.offset());
        Optional<JobStatus> known = view.find(event.jobId());
        boolean refused = switch (verdict) {
            case ACCEPTED -> false;
            case REFUSED -> true;
            case UNKNOWN -> isRefused(event, r.offset(), known);
        };
        if (refused) {
            return Optional.empty();
        }
        Seen before = seen(event.jobId(), r.offset());
        seen.put(event.jobId(), new Seen(Math.max(before.attempt(), event.attempt()),
                before.ended() || event.state().isTerminal(), r.offset()));
        JobRequest request = known.map(JobStatus::request).orElse(null);
        if (request == null || request.webhook() == null || !request.webhook().wants(kind.get().eventName())) {
            return Optional.empty();
        }
        // Each event is a full snapshot of its job: the view at the event, not the job's state by now.
        JobStatus at = JobStatus.fromSnapshot(event).withRequest(request);
        ObjectNode payload = JSON.createObjectNode();
        payload.put("type", kind.get().type());
        payload.put("timestamp", event.at().toString());
        payload.set("data", JSON.readTree(snapshots.viewJson(at, event.at())));
        String id = "msg_" + event.jobId().replace("-", "") + "_" + r.partition() + "_" + r.offset();
        return Optional.of(new Delivery(id, event.jobId(), request.webhook().url(), kind.get().type(),
                JSON.writeValueAsString(payload), 1, clock.instant(), clock.instant()));
    }

    /**
     * For an event the view cannot judge (read before this instance started): whether every reader refuses it,
     * so that no webhook may announce it, guessed from what this trigger and the view have seen: a late write of an
     * older attempt than one already seen here or in the status view (a worker that lost the job, paused past its
     * lock, whose write was already in its producer), or anything after the job's terminal event (the broker gave a
     * finished record out again; the first terminal state stands, as the status view shows it). A refused late end
     * does not end the job here: the newer attempt's own end is still announced.
     */
    private boolean isRefused(JobEvent event, long offset, Optional<JobStatus> known) {
        Seen before = seen(event.jobId(), offset);
        int newest = Math.max(before.attempt(), known.map(JobStatus::attempt).orElse(0));
        boolean endedOtherwise = known.filter(s -> s.state().isTerminal() && s.finishedAt() != null
                && !s.finishedAt().equals(event.at())).isPresent();
        return event.attempt() < newest || before.ended() || (event.state().isTerminal() && endedOtherwise);
    }

    /** What was taken of the job before the record at {@code offset} (nothing known when that is read again). */
    private Seen seen(String jobId, long offset) {
        Seen s = seen.getOrDefault(jobId, Seen.NONE);
        return s.offset() < offset ? s : Seen.NONE;
    }

    @Override
    public void stop() {
        if (container != null) {
            container.stop();
        }
    }

    @Override
    public void destroy() {
        if (producers != null) {
            producers.destroy();
        }
    }

    @Override
    public boolean isRunning() {
        return container != null && container.isRunning();
    }
}
