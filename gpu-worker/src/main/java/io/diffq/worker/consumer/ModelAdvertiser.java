package io.diffq.worker.consumer;

import io.diffq.common.json.JobCodec;
import io.diffq.common.kafka.Topics;
import io.diffq.common.model.ModelCard;
import io.diffq.common.model.Pool;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.stereotype.Component;

/**
 * Tells the gateways what this worker's models draw: one {@link ModelCard} per model on
 * {@code diffq.models}, keyed by model name, once the models are open; and, for a worker reading lanes, its pool
 * on {@code diffq.pools} ({@link PoolMembership}), after the cards. It works on its own thread and
 * retries with backoff until the broker has acknowledged every card (acks=all), so a broker outage never
 * holds up jobs. It never creates the topic (a producer could have the broker auto-create it without
 * compaction): the gateway does; until then it waits, as the worker's readers of other topics do.
 */
@Component
class ModelAdvertiser implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(ModelAdvertiser.class);
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(500);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final KafkaTemplate<String, byte[]> kafka;
    private final KafkaProperties kafkaProperties;
    private final JobCodec codec;
    private final WorkerIdentity identity;
    private final Clock clock;
    private Thread thread;
    private volatile Pool pool;

    /** What is published: a record for a topic the gateway creates. */
    private record Publication(String topic, String key, byte[] value, String what) {
    }

    ModelAdvertiser(KafkaTemplate<String, byte[]> kafka, KafkaProperties kafkaProperties, JobCodec codec,
            WorkerIdentity identity, Clock clock) {
        this.kafka = kafka;
        this.kafkaProperties = kafkaProperties;
        this.codec = codec;
        this.identity = identity;
        this.clock = clock;
    }

    /** Has the next {@link #advertise} declare {@code pool} after the cards. */
    void declare(Pool pool) {
        this.pool = pool;
    }

    /** Starts advertising {@code cards} (and the pool declared) in the background and returns at once. */
    synchronized void advertise(Collection<ModelCard> cards) {
        destroy();
        List<ModelCard> advertised = List.copyOf(cards);
        Pool declared = pool;
        thread = new Thread(() -> run(advertised, declared), "diffq-model-advertiser");
        thread.setDaemon(true);
        thread.start();
    }

    private void run(List<ModelCard> cards, Pool declared) {
        Deque<Publication> pending = new ArrayDeque<>();
        Deque<ModelCard> unpublished = new ArrayDeque<>(cards);
        if (declared != null) {
            pending.add(new Publication(Topics.POOLS, declared.name(), codec.writePool(declared),
                    "pool " + declared.name() + " serving " + declared.models()));
        }
        Duration backoff = FIRST_BACKOFF;
        String lastProblem = null;
        try (Admin admin = Admin.create(kafkaProperties.buildAdminProperties())) {
            while (true) {
                String problem;
                boolean waitingForTopic = false;
                try {
                    waitingForTopic = !topicExists(admin, Topics.MODELS);
                    problem = waitingForTopic ? Topics.MODELS + " does not exist yet (the gateway creates it)" : null;
                    while (problem == null && !unpublished.isEmpty()) {
                        publish(unpublished.peek());
                        unpublished.pop();
                    }
                    while (problem == null && !pending.isEmpty()) {
                        Publication p = pending.peek();
                        waitingForTopic = !topicExists(admin, p.topic());
                        problem = waitingForTopic ? p.topic() + " does not exist yet (the gateway creates it)" : null;
                        if (problem == null) {
                            kafka.send(p.topic(), p.key(), p.value()).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                            log.info("declared {} on {}", p.what(), p.topic());
                            pending.pop();
                        }
                    }
                } catch (KafkaException | ExecutionException | TimeoutException e) {
                    problem = (e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e).toString();
                }
                if (problem == null) {
                    return;
                }
                if (!problem.equals(lastProblem)) {
                    // A worker started before any gateway is normal; a broker that fails to answer is not.
                    String message = "cannot advertise {} yet, retrying: {}";
                    List<String> names = new ArrayList<>(unpublished.stream().map(ModelCard::name).toList());
                    pending.forEach(p -> names.add(p.what()));
                    if (waitingForTopic) {
                        log.info(message, names, problem);
                    } else {
                        log.warn(message, names, problem);
                    }
                    lastProblem = problem;
                }
                Thread.sleep(backoff.toMillis());
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (!Thread.currentThread().isInterrupted()) {
                log.error("advertising models stopped", e);
            }
        }
    }

    private static boolean topicExists(Admin admin, String topic) throws InterruptedException, ExecutionException,
            TimeoutException {
        try {
            admin.describeTopics(List.of(topic), new DescribeTopicsOptions().timeoutMs((int) TIMEOUT.toMillis()))
                    .allTopicNames().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return false;
            }
            throw e;
        }
    }

    private void publish(ModelCard card) throws InterruptedException, ExecutionException, TimeoutException {
        ModelCard advertised = card.advertisedBy(identity.id(), clock.instant());
        kafka.send(Topics.MODELS, card.name(), codec.writeModelCard(advertised))
                .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        log.info("advertised model {} on {}: {}", card.name(), Topics.MODELS, card.describeSizes());
    }

    /** Stops advertising, if it is still under way. */
    @Override
    public synchronized void destroy() {
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            thread = null;
        }
    }
}
