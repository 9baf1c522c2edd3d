package io.diffq.gateway.lanes;

import io.diffq.common.kafka.Topics;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which gateway leads the dispatch (docs/design/lanes.md §5, step 1): every gateway with dispatch enabled is a member
 * of the classic consumer group {@code diffq-dispatcher} on the empty single-partition topic {@code diffq.dispatch};
 * the member assigned its partition leads. A gateway that stops leaves the group, so the lead moves at once; one that
 * stops answering loses it after the session timeout. The cooperative sticky assignor leaves the partition with its
 * holder when others join. Holding the lease is not enough to write: the leader's transactional producer fences a
 * previous leader that still believes it leads ({@link LaneDispatcher}).
 */
final class DispatchLease implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DispatchLease.class);
    private static final TopicPartition LEASE = new TopicPartition(Topics.DISPATCH, 0);

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread thread;
    private final Runnable changed;
    /** Odd while this member holds the lease: each gain and each loss adds one. */
    private final AtomicLong term = new AtomicLong();
    private volatile boolean running = true;
    private volatile boolean started;

    /**
     * @param changed called (on the lease's thread) whenever this member gains or loses the lease
     */
    DispatchLease(Map<String, Object> consumerProperties, String clientId, Duration session, Runnable changed) {
        this.changed = changed;
        Map<String, Object> config = new HashMap<>(consumerProperties);
        config.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        config.remove(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, Topics.DISPATCH_GROUP);
        config.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) session.toMillis());
        config.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, (int) Math.max(500, session.toMillis() / 5));
        config.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, List.of(CooperativeStickyAssignor.class));
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        this.consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.thread = new Thread(this::run, "diffq-dispatch-lease");
        this.thread.setDaemon(true);
    }

    void start() {
        started = true;
        thread.start();
    }

    /** Whether this member holds the lease now. */
    boolean held() {
        return (term.get() & 1) == 1;
    }

    /** Changes at every gain and loss of the lease: a leader that sees another term than it began with stops. */
    long term() {
        return term.get();
    }

    private void run() {
        try {
            consumer.subscribe(List.of(Topics.DISPATCH), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    if (partitions.contains(LEASE) && !held()) {
                        term.incrementAndGet();
                        log.info("this gateway leads the dispatch (term {})", term.get());
                        changed.run();
                    }
                }

                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    lost(partitions, "moved to another gateway");
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> partitions) {
                    lost(partitions, "lost (the session expired)");
                }
            });
            while (running) {
                consumer.poll(Duration.ofMillis(500));
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            if (running) {
                log.error("the dispatch lease's consumer stopped; this gateway no longer takes part in dispatching", e);
            }
        } finally {
            if (held()) {
                term.incrementAndGet();
                changed.run();
            }
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private void lost(Collection<TopicPartition> partitions, String how) {
        if (partitions.contains(LEASE) && held()) {
            term.incrementAndGet();
            log.info("the dispatch lease {}", how);
            changed.run();
        }
    }

    @Override
    public void close() {
        running = false;
        if (!started) {
            consumer.close(Duration.ZERO);
            return;
        }
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
