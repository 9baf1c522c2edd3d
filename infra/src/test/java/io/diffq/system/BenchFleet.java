package io.diffq.system;

import io.diffq.common.kafka.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;

/**
 * The benchmark's workers: grows or shrinks them to a count with a simulated latency, waits until the group
 * has handed every partition of {@code diffq.jobs} to them, and reads their peak memory.
 */
final class BenchFleet implements AutoCloseable {

    private final Cluster cluster;
    private final Admin admin;
    private final List<ServiceProcess> workers = new ArrayList<>();
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private Duration latency;
    private int maxBatch = 1;
    private String spread = "none";
    private volatile Map<String, Integer> assignment = Map.of();

    BenchFleet(Cluster cluster) {
        this.cluster = cluster;
        this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                cluster.broker().bootstrapServers()));
    }

    /**
     * {@code n} workers of the simulated model at {@code latency}, all with partitions, each drawing up to
     * {@code maxBatch} jobs at once; workers of another latency or batch size are stopped first. Returns
     * whether the group settled within a minute.
     */
    boolean scaleTo(int n, Duration latency, int maxBatch) {
        return scaleTo(n, latency, maxBatch, "none");
    }

    /** As above, with the simulated model's {@code latency-spread} ({@code none} or {@code exponential}). */
    boolean scaleTo(int n, Duration latency, int maxBatch, String spread) {
        if (!latency.equals(this.latency) || maxBatch != this.maxBatch || !spread.equals(this.spread)) {
            stopAll();
            this.latency = latency;
            this.maxBatch = maxBatch;
            this.spread = spread;
        }
        while (workers.size() > n) {
            workers.remove(workers.size() - 1).stop();
        }
        List<String> argList = new ArrayList<>(List.of("--diffq.worker.simulated.latency=" + latency.toMillis() + "ms",
                "--diffq.worker.max-batch=" + maxBatch));
        if (!spread.equals("none")) {
            argList.add("--diffq.worker.simulated.latency-spread=" + spread);
        }
        // More worker settings to compare (e.g. BENCH_WORKER_ARGS=--diffq.worker.consumers-per-device=2).
        String more = System.getenv("BENCH_WORKER_ARGS");
        if (more != null && !more.isBlank()) {
            argList.addAll(List.of(more.trim().split("\\s+")));
        }
        String[] args = argList.toArray(String[]::new);
        // Started side by side: a JVM start is mostly waiting on one core.
        List<CompletableFuture<ServiceProcess>> starting = IntStream.range(workers.size(), n)
                .mapToObj(i -> CompletableFuture.supplyAsync(() -> cluster.worker(args), pool)).toList();
        starting.forEach(f -> workers.add(f.join()));
        return awaitAssigned(n, Duration.ofSeconds(60));
    }

    void stopAll() {
        CompletableFuture.allOf(workers.stream().map(w -> CompletableFuture.runAsync(w::stop, pool))
                .toArray(CompletableFuture[]::new)).join();
        workers.clear();
    }

    /**
     * Moves the (empty) worker share group's start offsets to the end of {@code diffq.jobs}, so the jobs a
     * scenario ran without workers do not become the next scenario's backlog.
     */
    void skipBacklog() throws Exception {
        stopAll();
        awaitAssigned(0, Duration.ofSeconds(30));
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        admin.describeTopics(List.of(Topics.JOBS)).allTopicNames().get(10, TimeUnit.SECONDS).get(Topics.JOBS)
                .partitions().forEach(p -> latest.put(new TopicPartition(Topics.JOBS, p.partition()),
                        OffsetSpec.latest()));
        Map<TopicPartition, Long> starts = new HashMap<>();
        admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS)
                .forEach((tp, info) -> starts.put(tp, info.offset()));
        try {
            admin.alterShareGroupOffsets(Topics.WORKER_GROUP, starts).all().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                throw e;
            }
        }
    }

    /** Partitions of {@code diffq.jobs} per group member (its client id) when the group last settled. */
    Map<String, Integer> assignment() {
        return assignment;
    }

    /** The pid of each worker now running, by name. */
    Map<String, Long> pids() {
        Map<String, Long> pids = new java.util.LinkedHashMap<>();
        workers.forEach(w -> pids.put(w.name(), w.pid()));
        return pids;
    }

    /** The names of the workers now running. */
    Set<String> names() {
        Set<String> names = new LinkedHashSet<>();
        workers.forEach(w -> names.add(w.name()));
        return names;
    }

    /**
     * The workers now running that the share group gave partitions of {@code diffq.jobs} when it last settled.
     */
    Set<String> namesWithPartitions() {
        Set<String> names = names();
        names.removeIf(w -> assignment.entrySet().stream()
                .noneMatch(e -> e.getKey().startsWith(w + "-") && e.getValue() > 0));
        return names;
    }

    /** Peak RSS (VmHWM, KiB) of each worker now running, by name. */
    Map<String, Long> peakResidentKib() {
        Map<String, Long> rss = new LinkedHashMap<>();
        workers.forEach(w -> rss.put(w.name(), w.peakResidentKib()));
        return rss;
    }

    /**
     * The workers' share group: the lanes' one when the workers read lanes ({@code BENCH_WORKER_ARGS} with
     * {@code --diffq.worker.source=lanes}, the gateway with {@code BENCH_GATEWAY_ARGS=--diffq.gateway.dispatch.enabled=true}).
     */
    static String group() {
        String more = System.getenv("BENCH_WORKER_ARGS");
        return more != null && more.contains("--diffq.worker.source=lanes") ? Topics.LANE_GROUP : Topics.WORKER_GROUP;
    }

    private boolean awaitAssigned(int n, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                // A share group: every member takes records; settled when all n members have partitions.
                ShareGroupDescription g = admin.describeShareGroups(List.of(group()))
                        .describedGroups().get(group()).get(5, TimeUnit.SECONDS);
                if (g.members().size() == n && g.members().stream()
                        .allMatch(m -> !m.assignment().topicPartitions().isEmpty())) {
                    Map<String, Integer> a = new TreeMap<>();
                    g.members().forEach(m -> a.put(m.clientId(), m.assignment().topicPartitions().size()));
                    assignment = a;
                    return true;
                }
            } catch (ExecutionException e) {
                if (n == 0 && e.getCause() instanceof GroupIdNotFoundException) {
                    return true;
                }
            } catch (Exception notYet) {
                // no group yet, or the broker is busy: ask again
            }
            ServiceProcess.sleep(250);
        }
        Bench.log("the worker group did not settle on %d members within %s", n, timeout);
        return false;
    }


    @Override
    public void close() {
        pool.shutdown();
        admin.close(Duration.ofSeconds(2));
    }
}
