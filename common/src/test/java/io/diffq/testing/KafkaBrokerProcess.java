package io.diffq.testing;

import io.diffq.launcher.AotCache;
import io.diffq.launcher.BrokerSettings;
import io.diffq.launcher.KafkaReadiness;
import io.diffq.launcher.Processes;
import io.diffq.launcher.Trees;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;

/**
 * A real KRaft Kafka broker in its own process, started from the {@code kafka_2.13} jars on the test class
 * path: a single node, or one node of a cluster ({@link #startCluster}). Unlike an in-JVM broker it can be
 * stopped, killed and restarted on the same ports and data, which is what fault tests need.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

    private final Path dir;
    private final int nodeId;
    private final int port;
    private final int controllerPort;
    /** Every node of the cluster, this one included: the quorum's voters, and the replication of its topics. */
    private List<BrokerSettings.Node> cluster;
    private volatile Process process;
    /** Set on the broker that trains the start-up cache: where its JVM writes it. */
    private Path trainingOutput;

    private KafkaBrokerProcess(Path dir, int nodeId, int port, int controllerPort) {
        this.dir = dir;
        this.nodeId = nodeId;
        this.port = port;
        this.controllerPort = controllerPort;
        this.cluster = List.of(node());
        // A test JVM that ends without closing its broker (a failed set-up, a crash in a test) leaves none behind.
        Runtime.getRuntime().addShutdownHook(new Thread(this::kill, "kill-kafka-node-" + nodeId));
    }

    /** Formats storage under {@code dir} and starts a broker on free loopback ports. */
    public static KafkaBrokerProcess start(Path dir) {
        int[] ports = freePorts(2);
        KafkaBrokerProcess broker = new KafkaBrokerProcess(dir, 1, ports[0], ports[1]);
        broker.format(Uuid.randomUuid().toString());
        broker.startProcess();
        return broker;
    }

    /**
     * A cluster of {@code nodes} combined broker-and-controller nodes under {@code dir/node-N}, on free loopback
     * ports, started side by side (each waits for the controller quorum). Its internal topics (consumer
     * offsets, transactions) have {@code nodes} replicas and need two in sync, so it keeps every
     * acknowledged commit with one node lost.
     */
    public static List<KafkaBrokerProcess> startCluster(Path dir, int nodes) {
        List<KafkaBrokerProcess> cluster = new ArrayList<>();
        int[] ports = freePorts(2 * nodes);
        for (int id = 1; id <= nodes; id++) {
            cluster.add(new KafkaBrokerProcess(dir.resolve("node-" + id), id, ports[2 * id - 2], ports[2 * id - 1]));
        }
        List<BrokerSettings.Node> all = cluster.stream().map(KafkaBrokerProcess::node).toList();
        String clusterId = Uuid.randomUuid().toString();
        for (KafkaBrokerProcess b : cluster) {
            b.cluster = all;
            b.format(clusterId);
        }
        List<Thread> starting = new ArrayList<>();
        for (KafkaBrokerProcess b : cluster) {
            Thread t = new Thread(b::startProcess, "start-node-" + b.nodeId);
            t.start();
            starting.add(t);
        }
        for (Thread t : starting) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (KafkaBrokerProcess b : cluster) {
            if (!b.isRunning()) {
                cluster.forEach(KafkaBrokerProcess::kill);
                throw new IllegalStateException("node " + b.nodeId + " did not start; see "
                        + b.dir.resolve("broker.log"));
            }
        }
        return cluster;
    }

    /** Every node's address, for a client's {@code bootstrap.servers}. */
    public static String bootstrapServers(List<KafkaBrokerProcess> cluster) {
        return String.join(",", cluster.stream().map(KafkaBrokerProcess::bootstrapServers).toList());
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** Creates {@code topics}, each with {@code partitions} partitions and the cluster's replication. */
    public void createTopics(int partitions, String... topics) {
        List<NewTopic> created = Arrays.stream(topics)
                .map(t -> new NewTopic(t, Optional.of(partitions), Optional.empty())).toList();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
            admin.createTopics(created).all().get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating " + List.of(topics), e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not create " + List.of(topics), e);
        }
    }

    /** This node's id in its cluster (1 for a single broker). */
    public int nodeId() {
        return nodeId;
    }

    /** Stops the broker with SIGTERM (a controlled shutdown) and waits for it. */
    public void stop() {
        if (process != null && process.isAlive()) {
            process.destroy();
            await(process, Duration.ofSeconds(60));
        }
    }

    /** Kills the broker with SIGKILL. */
    public void kill() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            await(process, Duration.ofSeconds(30));
        }
    }

    /** Starts the broker again on the same ports and data. */
    public void restart() {
        stop();
        startProcess();
    }

    /** The broker process's id, for signals (a pause is SIGSTOP); -1 while it is not started. */
    public long pid() {
        return process == null ? -1 : process.pid();
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    @Override
    public void close() {
        kill();
    }

    private void format(String clusterId) {
        try {
            Files.createDirectories(dir);
            // The settings every diffq broker starts with, as the local runner writes them.
            Properties p = BrokerSettings.server(BrokerSettings.findRoot(Path.of("")), cluster, node(),
                    dir.resolve("data"));
            // A killed consumer's partitions move after 6 s instead of 45 s, so fault tests stay short.
            p.put("group.consumer.session.timeout.ms", "6000");
            p.put("group.consumer.min.session.timeout.ms", "6000");
            p.put("group.consumer.heartbeat.interval.ms", "1000");
            p.put("group.consumer.min.heartbeat.interval.ms", "1000");
            // The workers' share group: the jobs a killed or paused worker held come back after a 15 s lock (the
            // broker's shortest) instead of 30 s. Its session outlasts the lock, as the broker's defaults do (45 s
            // against 30 s): a member whose session ends first has its records released uncounted (Kafka 4.3
            // gives them back with the same delivery count), so its job would run again as the same attempt, and
            // while the worker's lease, which counts the lock, still holds.
            p.put("group.share.session.timeout.ms", "20000");
            p.put("group.share.min.session.timeout.ms", "6000");
            p.put("group.share.heartbeat.interval.ms", "1000");
            p.put("group.share.min.heartbeat.interval.ms", "1000");
            p.put("group.share.record.lock.duration.ms", "15000");
            try (var out = Files.newOutputStream(config())) {
                p.store(out, "diffq test broker");
            }
            // In this JVM: one of its own would cost a JVM start and Kafka's class loading per broker.
            Path log = dir.resolve("format.log");
            String[] args = {"format", "-t", clusterId, "-c", config().toString()};
            try (PrintStream out = new PrintStream(Files.newOutputStream(log), true, StandardCharsets.UTF_8)) {
                if (StorageTool.execute(args, out) != 0) {
                    throw new IllegalStateException("formatting " + dir + " failed: " + Files.readString(log));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private BrokerSettings.Node node() {
        return new BrokerSettings.Node(nodeId, port, controllerPort);
    }

    private void startProcess() {
        Path log = dir.resolve("broker.log");
        long offset = Processes.size(log);
        process = Processes.start(javaCommand(List.of("kafka.Kafka", config().toString())), log, Path.of(""), Map.of(),
                false);
        KafkaReadiness.await("node " + nodeId, process.toHandle(), bootstrapServers(), Duration.ofSeconds(90), log,
                offset);
    }

    private Path config() {
        return dir.resolve("server.properties");
    }

    private List<String> javaCommand(List<String> mainAndArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Processes.java());
        cmd.add("-Xms128m");
        cmd.add("-Xmx512m");
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        // The benchmark may run the broker as deployed (BENCH_BROKER_JVM_ARGS=-XX:TieredStopAtLevel=4: later wins).
        cmd.addAll(JvmOptions.fromEnvironment("BENCH_BROKER_JVM_ARGS"));
        if (trainingOutput != null) {
            cmd.add("-XX:AOTCacheOutput=" + trainingOutput);
        } else {
            // From JDK 25 on, from the start-up cache for this class path (about half the time to ready); a cache
            // the JVM would refuse fails the start rather than slowing it.
            startUpCache().ifPresent(cache -> cmd.addAll(List.of("-XX:AOTCache=" + cache, "-XX:AOTMode=on")));
        }
        cmd.add("-cp");
        // The training's class path has no folders (a cache cannot hold their classes, and the JVM will not train
        // with a non-empty one); the rest run with the folders after it.
        cmd.add(trainingOutput != null ? String.join(File.pathSeparator, JARS) : CLASS_PATH);
        cmd.addAll(mainAndArgs);
        return cmd;
    }

    /**
     * The test JVM's class path with its jars first and its folders (a module's classes) after them: a start-up
     * cache holds classes from jars only, and accepts a class path that extends the one it was trained on.
     */
    private static final String CLASS_PATH;
    private static final List<String> JARS;

    static {
        List<String> entries = List.of(System.getProperty("java.class.path").split(File.pathSeparator));
        JARS = entries.stream().filter(e -> e.endsWith(".jar") && Files.isRegularFile(Path.of(e))).toList();
        List<String> ordered = new ArrayList<>(JARS);
        entries.stream().filter(e -> !JARS.contains(e)).forEach(ordered::add);
        CLASS_PATH = String.join(File.pathSeparator, ordered);
    }

    /**
     * The brokers' start-up cache for this class path (JDK 25 and later): made once per class path and JDK by a
     * broker started and stopped for it, kept in {@code target/aot/} of the module (else the temporary folder).
     */
    private static Optional<Path> startUpCache() {
        Path parent = Files.isDirectory(Path.of("target")) ? Path.of("target", "aot").toAbsolutePath()
                : Path.of(System.getProperty("java.io.tmpdir"), "diffq-aot");
        // A rebuilt module jar (failsafe puts it on the class path) gets a new cache.
        Path dir = AotCache.directory(parent, "kafka-broker", AotCache.stamp(JARS.stream().map(Path::of).toList()));
        return AotCache.cache(dir, "the Kafka broker", System.getenv(), output -> {
            Path work = Files.createTempDirectory(dir, "training");
            int[] ports = freePorts(2);
            KafkaBrokerProcess broker = new KafkaBrokerProcess(work, 1, ports[0], ports[1]);
            broker.trainingOutput = output;
            try {
                broker.format(Uuid.randomUuid().toString());
                broker.startProcess();
                // A controlled stop: the JVM writes the cache as it exits.
                broker.process.destroy();
                return await(broker.process, Duration.ofMinutes(2));
            } catch (RuntimeException e) {
                return false;
            } finally {
                broker.kill();
                if (Files.exists(work.resolve("broker.log"))) {
                    Files.copy(work.resolve("broker.log"), dir.resolve("training.log"),
                            StandardCopyOption.REPLACE_EXISTING);
                }
                Trees.delete(work);
            }
        }, message -> System.out.println("[kafka] " + message));
    }

    private static boolean await(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** A loopback port that was free a moment ago. */
    public static int freePort() {
        return freePorts(1)[0];
    }

    /**
     * Takes {@code port} for the caller when it is free now and this JVM has not handed it out before (for a
     * block of ports at fixed distances, such as a three-node cluster's).
     */
    public static synchronized boolean claimIfFree(int port) {
        if (HANDED_OUT.contains(port)) {
            return false;
        }
        try (ServerSocket s = new ServerSocket(port)) {
            return HANDED_OUT.add(port);
        } catch (IOException e) {
            return false;
        }
    }

    /** Every port this JVM has handed out: test classes that run side by side never get the same one. */
    private static final java.util.Set<Integer> HANDED_OUT = new java.util.HashSet<>();

    /**
     * {@code n} different loopback ports that were free a moment ago: held open together while chosen, as two
     * calls of {@link #freePort()} may both answer the port the first one just let go; and never one this JVM
     * answered before, as another test class running beside this one may not have bound its port yet.
     */
    private static synchronized int[] freePorts(int n) {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s;
                do {
                    s = new ServerSocket(0);
                    held.add(s);
                    s.setReuseAddress(true);
                } while (!HANDED_OUT.add(s.getLocalPort()));
                ports[i] = s.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // the port is chosen; closing is best effort
                }
            }
        }
    }
}
