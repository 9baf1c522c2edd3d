package io.diffq.gateway.webhooks;

import io.diffq.common.kafka.Topics;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Delivers what the outbox ({@code diffq.webhooks}) holds: a consumer group ({@value #GROUP}) shared by the
 * gateways reads the deliveries, and each is tried when due on a bounded pool of delivery threads (at most
 * {@code concurrency} at once, {@code max-per-host} per receiver host). A try that should be repeated writes the
 * next try (attempt + 1, due after an exponential backoff with jitter, or the receiver's {@code Retry-After}) back
 * to the outbox, unless the horizon has passed (given up).
 *
 * <p>A partition's offset is committed up to its lowest delivery not finished, and a delivery is finished only
 * once its outcome is durable (a retry written and acknowledged), so a stop or a crash loses none. A delivery not
 * due yet is held in memory for at most {@code hold-window}, then written back to the outbox as it is, and so is
 * every held one when the gateway stops or loses the partition: the committed offset never stays far behind, and
 * a gateway that stops cleanly leaves nothing to do twice. After a crash, deliveries finished above the committed
 * offset are tried again: at least once, with the same {@code webhook-id}, by which the receiver drops a repeat.
 */
@Component
class WebhookSender implements SmartLifecycle {

    static final String GROUP = "diffq-webhook-senders";
    private static final Logger log = LoggerFactory.getLogger(WebhookSender.class);
    private static final Duration POLL = Duration.ofMillis(100);

    private final KafkaProperties kafka;
    private final WebhookProperties properties;
    private final WebhookUrlPolicy policy;
    private final MeterRegistry meters;
    private final Clock clock;
    private final DeliveryCodec codec = new DeliveryCodec();

    private final Map<TopicPartition, Partition> partitions = new HashMap<>();
    private final Set<Task> held = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<Task> finished = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pending = new AtomicInteger();

    private volatile boolean running;
    private volatile boolean closing;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private KafkaProducer<String, byte[]> producer;
    private ScheduledExecutorService holds;
    private ScheduledExecutorService timer;
    private ThreadPoolExecutor workers;
    private HostLanes lanes;
    private WebhookClient client;
    private WebhookMetrics metrics;
    private Thread thread;
    private boolean paused;

    WebhookSender(KafkaProperties kafka, WebhookProperties properties, WebhookUrlPolicy policy, MeterRegistry meters,
            Clock clock) {
        this.kafka = kafka;
        this.properties = properties;
        this.policy = policy;
        this.meters = meters;
        this.clock = clock;
    }

    /** A partition's deliveries read and not finished; touched only by the polling thread. */
    private static final class Partition {
        final TreeSet<Long> unfinished = new TreeSet<>();
        long next = -1;
        long committed = -1;
        volatile boolean revoked;

        long committable() {
            return unfinished.isEmpty() ? next : unfinished.first();
        }
    }

    /** One delivery read from the outbox at {@code offset}; claimed once, by whoever runs or forwards it. */
    private static final class Task {
        final Delivery delivery;
        final Partition partition;
        final long offset;
        final AtomicBoolean claimed = new AtomicBoolean();

        Task(Delivery delivery, Partition partition, long offset) {
            this.delivery = delivery;
            this.partition = partition;
            this.offset = offset;
        }
    }

    @Override
    public void start() {
        if (!properties.active()) {
            return;
        }
        metrics = new WebhookMetrics(meters);
        holds = Executors.newSingleThreadScheduledExecutor(daemon("diffq-webhook-holds"));
        timer = Executors.newSingleThreadScheduledExecutor(daemon("diffq-webhook-timer"));
        workers = new ThreadPoolExecutor(properties.concurrency(), properties.concurrency(), 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), daemon("diffq-webhook-delivery"));
        workers.allowCoreThreadTimeOut(true);
        lanes = new HostLanes(workers, properties.maxPerHost());
        client = new WebhookClient(policy, new WebhookSigner(properties.secrets()), properties, timer, clock);
        producer = newProducer();
        running = true;
        thread = new Thread(this::run, "diffq-webhook-sender");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        while (running) {
            try (KafkaConsumer<String, byte[]> c = newConsumer()) {
                consumer = c;
                c.subscribe(List.of(Topics.WEBHOOKS), new Rebalance());
                try {
                    while (running) {
                        for (ConsumerRecord<String, byte[]> r : c.poll(POLL)) {
                            read(r);
                        }
                        settle(c, partitions.keySet());
                        throttle(c);
                    }
                } catch (WakeupException e) {
                    // stop() woke the consumer: the loop condition decides
                }
                if (!running) {
                    handOver(c);
                }
            } catch (RuntimeException e) {
                log.warn("webhook sender: {}; starting over from the committed offsets", e.toString());
                forget(Set.copyOf(partitions.keySet()));
                OutboxClients.sleepQuietly(1000);
            }
        }
    }

    private void read(ConsumerRecord<String, byte[]> r) {
        Partition p = partitions.get(new TopicPartition(r.topic(), r.partition()));
        if (p == null) {
            return; // not ours any more
        }
        p.next = r.offset() + 1;
        Delivery d = codec.read(r.value());
        if (d == null) {
            log.warn("webhook sender: skipping unreadable delivery {}-{}@{}", r.topic(), r.partition(), r.offset());
            return;
        }
        p.unfinished.add(r.offset());
        pending.incrementAndGet();
        schedule(new Task(d, p, r.offset()));
    }

    /** Runs the task when due; one due later than the hold window is held that long, then written back. */
    private void schedule(Task t) {
        long wait = Duration.between(clock.instant(), t.delivery.notBefore()).toMillis();
        if (wait <= 0) {
            t.claimed.set(true);
            dispatch(t);
            return;
        }
        held.add(t);
        holds.schedule(() -> {
            if (!t.claimed.compareAndSet(false, true)) {
                return; // forwarded by a stop or a rebalance meanwhile
            }
            held.remove(t);
            if (t.partition.revoked) {
                pending.decrementAndGet();
            } else if (clock.instant().isBefore(t.delivery.notBefore())) {
                forward(t, t.delivery);
            } else {
                dispatch(t);
            }
        }, Math.min(wait, properties.holdWindow().toMillis()), TimeUnit.MILLISECONDS);
    }

    private void dispatch(Task t) {
        lanes.submit(hostOf(t.delivery.url()), () -> attempt(t));
    }

    private void attempt(Task t) {
        Delivery d = t.delivery;
        if (closing) {
            forward(t, d); // the gateway stops: leave the try to the next owner, written back as it is
            return;
        }
        long start = System.nanoTime();
        WebhookClient.Attempt a;
        try {
            a = client.deliver(d);
        } catch (RuntimeException e) {
            // A URL the HTTP client will not take (the policy let it through): trying again would not help, and
            // a delivery left unfinished would hold its partition's offset for good.
            log.warn("webhook {} of job {} cannot be sent: {}", d.id(), d.jobId(), e.toString());
            a = new WebhookClient.Attempt(WebhookClient.Outcome.FAILED, 0, java.util.Optional.empty());
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        if (a.outcome() != WebhookClient.Outcome.RETRY) {
            metrics.record(WebhookMetrics.outcome(a.outcome()), d.type(), took);
            finish(t);
            return;
        }
        Instant next = nextTry(d.attempt(), a);
        if (next.isAfter(d.firstAttemptAt().plus(properties.horizon()))) {
            log.info("webhook {} of job {} given up after {} tries", d.id(), d.jobId(), d.attempt());
            metrics.record("given-up", d.type(), took);
            finish(t);
            return;
        }
        write(d.retry(next), () -> {
            metrics.record("retried", d.type(), took);
            finish(t);
        });
    }

    /** When to try again: the backoff for the attempt with jitter, or later when the receiver asked so. */
    Instant nextTry(int attempt, WebhookClient.Attempt a) {
        long max = properties.maxBackoff().toMillis();
        long base = properties.initialBackoff().toMillis();
        long backoff = attempt >= 62 || base << (attempt - 1) > max || base << (attempt - 1) < 0 ? max
                : Math.min(max, base << (attempt - 1));
        // "Equal jitter": half the backoff for sure, the other half at random, so retries of many webhooks that
        // failed together spread out and each still waits.
        long wait = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1);
        if (a.retryAfter().isPresent()) {
            wait = Math.max(wait, Math.min(a.retryAfter().get().toMillis(), max));
        }
        return clock.instant().plusMillis(wait);
    }

    private void forward(Task t, Delivery d) {
        write(d, () -> finish(t));
    }

    /** Writes a delivery to the outbox, then runs {@code then}; a write that fails is tried again a second later. */
    private void write(Delivery d, Runnable then) {
        try {
            producer.send(new ProducerRecord<>(Topics.WEBHOOKS, d.jobId(), codec.write(d)), (md, e) -> {
                if (e == null) {
                    then.run();
                } else {
                    log.warn("webhook sender: writing {} to the outbox failed ({}); trying again", d.id(), e.toString());
                    timer.schedule(() -> write(d, then), 1, TimeUnit.SECONDS);
                }
            });
        } catch (RuntimeException e) {
            log.warn("webhook sender: writing {} to the outbox failed ({}); trying again", d.id(), e.toString());
            timer.schedule(() -> write(d, then), 1, TimeUnit.SECONDS);
        }
    }

    private void finish(Task t) {
        finished.add(t);
        pending.decrementAndGet();
    }

    /** Takes in the finished deliveries and commits each partition up to its lowest unfinished one. */
    private void settle(KafkaConsumer<String, byte[]> c, Collection<TopicPartition> which) {
        for (Task t; (t = finished.poll()) != null; ) {
            if (!t.partition.revoked) {
                t.partition.unfinished.remove(t.offset);
            }
        }
        Map<TopicPartition, OffsetAndMetadata> commits = new HashMap<>();
        for (TopicPartition tp : which) {
            Partition p = partitions.get(tp);
            if (p != null && p.committable() > p.committed) {
                long offset = p.committable();
                commits.put(tp, new OffsetAndMetadata(offset));
            }
        }
        if (commits.isEmpty()) {
            return;
        }
        c.commitSync(commits);
        commits.forEach((tp, o) -> partitions.get(tp).committed = o.offset());
    }

    /**
     * At a stop: writes back what is held, lets what is in flight finish (within the request timeout; what waits for
     * a thread is written back as well), and commits every partition up to what is done.
     */
    private void handOver(KafkaConsumer<String, byte[]> c) {
        forwardHeld(Set.copyOf(partitions.keySet()));
        long deadline = System.nanoTime() + properties.requestTimeout().plusSeconds(10).toNanos();
        while (pending.get() > 0 && System.nanoTime() < deadline) {
            OutboxClients.sleepQuietly(20);
        }
        producer.flush();
        try {
            settle(c, Set.copyOf(partitions.keySet()));
        } catch (WakeupException e) {
            settle(c, Set.copyOf(partitions.keySet())); // the stop's wake-up, met here instead of in a poll
        }
    }

    /** Stops reading while too many deliveries wait, and reads on once half of them are done. */
    private void throttle(KafkaConsumer<String, byte[]> c) {
        if (!paused && pending.get() >= properties.maxPending()) {
            c.pause(c.assignment());
            paused = true;
        } else if (paused && pending.get() < properties.maxPending() / 2 + 1) {
            c.resume(c.paused());
            paused = false;
        }
    }

    /** Writes back every held delivery of {@code which} and waits (briefly) until they are in the outbox. */
    private void forwardHeld(Collection<TopicPartition> which) {
        List<Task> mine = held.stream().filter(t -> which.stream().anyMatch(tp -> partitions.get(tp) == t.partition))
                .toList();
        for (Task t : mine) {
            if (t.claimed.compareAndSet(false, true)) {
                held.remove(t);
                forward(t, t.delivery);
            }
        }
        producer.flush();
    }

    private void forget(Set<TopicPartition> which) {
        for (TopicPartition tp : which) {
            Partition p = partitions.remove(tp);
            if (p != null) {
                p.revoked = true;
            }
        }
    }

    /** Hands partitions over cleanly: what is held goes back to the outbox, what is done is committed. */
    private final class Rebalance implements ConsumerRebalanceListener {

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
            assigned.forEach(tp -> partitions.put(tp, new Partition()));
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
            try {
                forwardHeld(revoked);
                settle(consumer, revoked);
            } catch (RuntimeException e) {
                log.warn("webhook sender: could not commit before handing partitions over: {}", e.toString());
            }
            forget(Set.copyOf(revoked));
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> lost) {
            forget(Set.copyOf(lost));
        }
    }

    private static String hostOf(String url) {
        try {
            String host = URI.create(url).getHost();
            return host == null ? "" : host.toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return "";
        }
    }

    private KafkaConsumer<String, byte[]> newConsumer() {
        return OutboxClients.consumer(kafka, GROUP, "diffq-webhook-sender-");
    }

    private KafkaProducer<String, byte[]> newProducer() {
        Map<String, Object> config = new HashMap<>(kafka.buildProducerProperties());
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "diffq-webhook-sender-" + UUID.randomUUID());
        // A retry must reach the outbox however long the broker is away: the delivery stays unfinished meanwhile.
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 30_000);
        return new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Stops cleanly: held deliveries and those waiting for a thread are written back to the outbox, those in flight
     * finish (within the request timeout), then every partition is committed up to what is done.
     */
    @Override
    public void stop() {
        if (!running) {
            return;
        }
        closing = true;
        holds.shutdownNow();
        running = false;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        if (thread != null) {
            try {
                thread.join(properties.requestTimeout().toMillis() + 20_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        workers.shutdown();
        timer.shutdownNow();
        producer.close(Duration.ofSeconds(5));
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
