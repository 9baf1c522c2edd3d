package io.diffq.chaos;

import io.diffq.system.ServiceProcess;
import io.diffq.testing.KafkaBrokerProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The campaign's system as real processes, in production settings: three KRaft brokers (topics with 3 replicas,
 * {@code min.insync.replicas} 2, acks=all), two gateways with API keys, three workers of the simulated model. Every
 * part is a named target the nemesis kills, pauses and restarts; a gateway comes back on its own port.
 */
final class ChaosCluster implements AutoCloseable {

    /** The API keys the clients use, by name; the gateways are given only their SHA-256. */
    static final Map<String, String> API_KEYS = Map.of("client-a", "chaos-key-a-0123456789abcdef",
            "client-b", "chaos-key-b-0123456789abcdef");
    static final int MAX_ATTEMPTS = 3;
    /** Prompts matching this fail in the simulated model every time: retried, then dead-lettered. */
    static final String FAIL_MARK = "chaos-fail";

    private final Path dir;
    private final List<KafkaBrokerProcess> brokers;
    private final int[] gatewayPorts = {KafkaBrokerProcess.freePort(), KafkaBrokerProcess.freePort()};
    private final Map<String, ServiceProcess> services = new ConcurrentHashMap<>();

    private ChaosCluster(Path dir, List<KafkaBrokerProcess> brokers) {
        this.dir = dir;
        this.brokers = brokers;
    }

    /** Starts every part: the brokers, the first gateway (it creates the topics), then the rest side by side. */
    static ChaosCluster start(Path dir) throws Exception {
        ChaosCluster c = new ChaosCluster(dir, KafkaBrokerProcess.startCluster(dir.resolve("kafka"), 3));
        try {
            c.start("gateway-1");
            ExecutorService starting = Executors.newFixedThreadPool(4);
            List<Future<?>> all = new ArrayList<>();
            for (String t : List.of("gateway-2", "worker-1", "worker-2", "worker-3")) {
                all.add(starting.submit(() -> c.start(t)));
            }
            for (Future<?> f : all) {
                f.get();
            }
            starting.shutdown();
            return c;
        } catch (Exception e) {
            c.close();
            throw e;
        }
    }

    /** Every target's name: {@code broker-1..3}, {@code gateway-1..2}, {@code worker-1..3}. */
    static List<String> targets() {
        return List.of("broker-1", "broker-2", "broker-3", "gateway-1", "gateway-2", "worker-1", "worker-2",
                "worker-3");
    }

    int gatewayPort(int gateway) {
        return gatewayPorts[gateway];
    }

    String bootstrapServers() {
        return KafkaBrokerProcess.bootstrapServers(brokers);
    }

    /** Starts the target (a broker on its own ports and data, a service from its jar); no-op when it runs. */
    void start(String target) {
        if (target.startsWith("broker-")) {
            KafkaBrokerProcess b = broker(target);
            if (!b.isRunning()) {
                b.restart();
            }
            return;
        }
        ServiceProcess running = services.get(target);
        if (running != null && running.isAlive()) {
            return;
        }
        int mgmt = KafkaBrokerProcess.freePort();
        ServiceProcess p = target.startsWith("gateway-")
                ? ServiceProcess.gateway(dir, target, bootstrapServers(), gatewayPorts[index(target) - 1], mgmt,
                        gatewayArgs(dir.resolve(target + "-status")))
                : ServiceProcess.worker(dir, target, bootstrapServers(), mgmt, workerArgs());
        services.put(target, p);
    }

    /** SIGKILL. */
    void kill(String target) {
        if (target.startsWith("broker-")) {
            broker(target).kill();
        } else {
            services.get(target).kill();
        }
    }

    /** SIGTERM: a clean shutdown, waited for. */
    void stop(String target) {
        if (target.startsWith("broker-")) {
            broker(target).stop();
        } else {
            services.get(target).stop();
        }
    }

    /** SIGSTOP, as a long GC pause or a stuck disk freezes a process. */
    void pause(String target) {
        signal(target, "STOP");
    }

    /** SIGCONT. */
    void resume(String target) {
        signal(target, "CONT");
    }

    boolean isRunning(String target) {
        return target.startsWith("broker-") ? broker(target).isRunning()
                : services.get(target) != null && services.get(target).isAlive();
    }

    private void signal(String target, String signal) {
        long pid = target.startsWith("broker-") ? broker(target).pid() : services.get(target).pid();
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(pid))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            kill.waitFor();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private KafkaBrokerProcess broker(String target) {
        return brokers.get(index(target) - 1);
    }

    private static int index(String target) {
        return Integer.parseInt(target.substring(target.indexOf('-') + 1));
    }

    /**
     * The production settings the campaign holds diffq to, plus API keys and a shared job-id secret; each gateway
     * keeps its status store in {@code statusDir} across kills and restarts, as a pod keeps its volume.
     */
    /**
     * Whether the campaign runs the lanes (docs/design/lanes.md): the gateways' dispatcher on and the workers reading
     * their pool's lane, with {@code CHAOS_LANES=1} in the environment. Off: the workers share {@code diffq.jobs}.
     */
    static boolean lanes() {
        return "1".equals(System.getenv("CHAOS_LANES"));
    }

    private static String[] workerArgs() {
        List<String> args = new ArrayList<>(List.of(
                "--diffq.worker.simulated.step-latency=50ms",
                "--diffq.worker.simulated.fail-pattern=" + FAIL_MARK,
                "--diffq.worker.max-attempts=" + MAX_ATTEMPTS));
        if (lanes()) {
            args.add("--diffq.worker.source=lanes");
        }
        return args.toArray(String[]::new);
    }

    private static String[] gatewayArgs(Path statusDir) {
        List<String> args = new ArrayList<>(List.of(
                "--diffq.gateway.status.dir=" + statusDir,
                "--diffq.topics.replicas=3",
                "--diffq.topics.partitions=6",
                // Several partitions of diffq.jobs to rebalance among the campaign's consumer-group workers.
                "--diffq.topics.job-partitions=6",
                "--diffq.gateway.job-id-secret=chaos-campaign-job-id-secret-0123456789",
                // On, but above what the clients send: a 429 is no violation, yet it would hide the paths under test.
                "--diffq.gateway.security.rate-limit.enabled=true",
                "--diffq.gateway.security.rate-limit.requests-per-second=1000",
                "--diffq.gateway.security.rate-limit.burst=2000"));
        int i = 0;
        for (Map.Entry<String, String> key : new LinkedHashMap<>(API_KEYS).entrySet()) {
            args.add("--diffq.gateway.security.api-keys[" + i + "].name=" + key.getKey());
            args.add("--diffq.gateway.security.api-keys[" + i + "].key-sha256=" + sha256(key.getValue()));
            i++;
        }
        if (lanes()) {
            args.add("--diffq.gateway.dispatch.enabled=true");
        }
        return args.toArray(String[]::new);
    }

    static String sha256(String text) {
        return sha256(text.getBytes(StandardCharsets.UTF_8));
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        for (String t : targets()) {
            if (t.startsWith("broker-")) {
                continue;
            }
            ServiceProcess p = services.get(t);
            if (p != null) {
                resume(t);
                p.kill();
            }
        }
        brokers.forEach(b -> {
            if (b.isRunning()) {
                signal("broker-" + b.nodeId(), "CONT");
            }
            b.kill();
        });
    }
}
