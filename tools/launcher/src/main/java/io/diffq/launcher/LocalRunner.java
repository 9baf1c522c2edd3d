package io.diffq.launcher;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.kafka.common.Uuid;

/**
 * {@code infra/local/diffq-local}'s commands: diffq on this machine without Docker. A real KRaft broker (or three),
 * the API gateway, workers and, where there is one, Prometheus, each a process of its own that outlives this one.
 * {@code $DIFFQ_HOME/run/NAME.pid} holds each one's pid and {@code NAME.port} its ports; every process carries a
 * marker argument naming {@code $DIFFQ_HOME} and its name, so a recycled pid is never taken for ours. Settings come
 * from the environment ({@link #help}).
 */
public final class LocalRunner {

    private static final Pattern PORT = Pattern.compile("[0-9]{1,5}");
    private static final Pattern SECONDS = Pattern.compile("[0-9]+");
    private static final Pattern HEALTH_STATUS = Pattern.compile("\"status\"\\s*:\\s*\"([A-Z_]+)\"");

    private final Path root;
    private final Path home;
    private final Path run;
    private final Path logs;
    private final Map<String, String> env;
    private int gatewayPort;
    private int gatewayManagementPort;
    private final int workerBasePort;
    private int kafkaPort;
    private int controllerPort;
    private int brokers;
    private int prometheusPort;
    private final String workerModels;
    private final boolean lanes;
    private final Duration startTimeout;
    private final Duration stopTimeout;
    private final Path prometheusConfig;
    private FileChannel lockChannel;
    private FileLock lock;
    /** Set by {@code run}: stop everything when this JVM ends. */
    private volatile boolean stopOnExit;
    /** The status this JVM ends with once {@code run}'s stop is done: 0 for a stop asked for (Ctrl-C, SIGTERM). */
    private static volatile int exitStatus;

    /** A failure to report as {@code diffq-local: error: ...} with exit status 1. */
    static final class Failure extends RuntimeException {

        Failure(String message) {
            super(message);
        }
    }

    LocalRunner(Path root, Map<String, String> env) {
        this.root = root;
        this.env = env;
        this.home = Path.of(env.getOrDefault("DIFFQ_HOME", root.resolve(".diffq-local").toString())).toAbsolutePath()
                .normalize();
        this.run = home.resolve("run");
        this.logs = home.resolve("logs");
        Map<String, Integer> ports = new LinkedHashMap<>();
        this.gatewayPort = port(ports, "DIFFQ_GATEWAY_PORT", 8080);
        this.gatewayManagementPort = port(ports, "DIFFQ_GATEWAY_MANAGEMENT_PORT", 8081);
        this.workerBasePort = port(ports, "DIFFQ_WORKER_MANAGEMENT_PORT", 8091);
        this.kafkaPort = port(ports, "DIFFQ_KAFKA_PORT", 9092);
        this.controllerPort = port(ports, "DIFFQ_KAFKA_CONTROLLER_PORT", 9093);
        this.prometheusPort = port(ports, "DIFFQ_PROMETHEUS_PORT", 9090);
        String count = env.getOrDefault("DIFFQ_KAFKA_BROKERS", "1");
        if (!count.equals("1") && !count.equals("3")) {
            throw new Failure("DIFFQ_KAFKA_BROKERS='" + count + "' must be 1 or 3");
        }
        this.brokers = Integer.parseInt(count);
        for (int k = 2; k <= brokers; k++) {
            for (int p : List.of(nodePort(k), nodeControllerPort(k))) {
                if (p > 65535) {
                    throw new Failure("broker-" + k + " would need port " + p
                            + "; lower DIFFQ_KAFKA_PORT or DIFFQ_KAFKA_CONTROLLER_PORT");
                }
                String other = ports.entrySet().stream().filter(e -> e.getValue() == p).map(Map.Entry::getKey)
                        .findFirst().orElse(null);
                if (other != null) {
                    throw new Failure("broker-" + k + "'s port " + p + " is also " + other
                            + "; move DIFFQ_KAFKA_PORT or DIFFQ_KAFKA_CONTROLLER_PORT");
                }
                ports.put("broker-" + k, p);
            }
        }
        this.workerModels = env.getOrDefault("DIFFQ_WORKER_MODELS", "simulated,tiny");
        String lanesSetting = env.getOrDefault("DIFFQ_LANES", "1");
        if (!lanesSetting.equals("0") && !lanesSetting.equals("1")) {
            throw new Failure("DIFFQ_LANES must be 0 or 1, not " + lanesSetting);
        }
        this.lanes = lanesSetting.equals("1");
        this.startTimeout = seconds("DIFFQ_START_TIMEOUT", 180);
        this.stopTimeout = seconds("DIFFQ_STOP_TIMEOUT", 30);
        this.prometheusConfig = Path.of(env.getOrDefault("DIFFQ_PROMETHEUS_CONFIG",
                root.resolve("infra/prometheus/prometheus.yml").toString()));
    }

    public static void main(String[] args) {
        // The broker readiness check's Kafka client logs nothing here.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "off");
        String cmd = args.length == 0 ? "help" : args[0];
        try {
            LocalRunner r = new LocalRunner(BrokerSettings.findRoot(Path.of("")), System.getenv());
            switch (cmd) {
                case "run" -> r.runForeground();
                case "start" -> r.start(false);
                case "start-broker" -> r.start(true);
                case "add-worker" -> r.addWorker();
                case "status" -> r.status();
                case "stop" -> r.stop();
                case "help", "-h", "--help" -> System.out.print(help());
                default -> {
                    System.err.println("diffq-local: unknown command '" + cmd + "'");
                    System.err.print(help());
                    System.exit(2);
                }
            }
        } catch (Failure | Processes.StartFailure e) {
            System.err.println("diffq-local: error: " + e.getMessage());
            exitStatus = 1;
            System.exit(1);
        }
        System.exit(0);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Commands
    // ---------------------------------------------------------------------------------------------------------

    /** Broker, then (unless {@code brokerOnly}) gateway, one worker and Prometheus; returns once all are healthy. */
    void start(boolean brokerOnly) {
        prepare();
        lock();
        adoptRunningPorts();
        // Every port about to be needed is checked before anything starts.
        List<String> taken = new ArrayList<>();
        for (int k = 1; k <= brokers; k++) {
            if (!alive(brokerName(k))) {
                requireFree(taken, nodePort(k), "Kafka " + brokerName(k) + ", DIFFQ_KAFKA_PORT");
                requireFree(taken, nodeControllerPort(k), "Kafka " + brokerName(k) + " controller, "
                        + "DIFFQ_KAFKA_CONTROLLER_PORT");
            }
        }
        boolean haveWorker = !brokerOnly && !liveWorkers().isEmpty();
        String firstWorker = brokerOnly || haveWorker ? null : nextWorkerName();
        if (!brokerOnly) {
            if (!alive("gateway")) {
                requireFree(taken, gatewayPort, "gateway, DIFFQ_GATEWAY_PORT");
                requireFree(taken, gatewayManagementPort, "gateway management, DIFFQ_GATEWAY_MANAGEMENT_PORT");
            }
            if (!haveWorker) {
                requireFree(taken, workerBasePort, firstWorker + " management, DIFFQ_WORKER_MANAGEMENT_PORT");
            }
            if (!alive("prometheus") && prometheusSkipReason().isEmpty()) {
                requireFree(taken, prometheusPort, "Prometheus, DIFFQ_PROMETHEUS_PORT");
            }
        }
        if (!taken.isEmpty()) {
            throw new Failure("cannot start:\n" + String.join("\n", taken) + "\ndiffq-local: stop what holds it "
                    + "(ss -ltnp shows who) or pick other ports with the DIFFQ_*_PORT variables (see help)");
        }
        startBrokers();
        if (brokerOnly) {
            unlock();
            say("broker-only: bootstrap servers " + bootstrap() + "; logs in " + logs + "/broker*.log");
            return;
        }
        // The gateway first: it creates the topics (the broker does not auto-create them).
        startGateway();
        if (haveWorker) {
            say("workers already running: " + String.join(" ", liveWorkers()));
        } else {
            startWorker(firstWorker, workerBasePort);
        }
        awaitModels();
        startPrometheus();
        unlock();
        System.out.print(urls());
    }

    void addWorker() {
        prepare();
        lock();
        adoptRunningPorts();
        if (!alive("broker")) {
            throw new Failure("the broker is not running: run 'diffq-local start' first");
        }
        if (!alive("gateway")) {
            warn("the gateway is not running; the worker starts anyway");
        }
        String name = nextWorkerName();
        int port = nextWorkerPort();
        startWorker(name, port);
        if (alive("gateway")) {
            awaitModels();
        }
        reloadPrometheus();
        unlock();
        say(name + " metrics: http://localhost:" + port + "/actuator/prometheus (log " + logs.resolve(name + ".log")
                + ")");
    }

    void stop() {
        mkdirs(run);
        lock();
        stopAll();
        unlock();
        say("stopped");
    }

    /** {@code start}, then in the foreground until Ctrl-C or SIGTERM, which stop everything. */
    void runForeground() {
        stopOnExit = true;
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (stopOnExit) {
                stopOnExit = false;
                main.interrupt();
                System.out.println();
                say("stopping everything");
                unlock();
                stop();
                // A stop asked for is a clean end (the JVM would say 130 after a Ctrl-C).
                Runtime.getRuntime().halt(exitStatus);
            }
        }, "diffq-local-stop"));
        start(false);
        System.out.println();
        say("running in the foreground; Ctrl-C (or SIGTERM) stops everything");
        List<String> reported = new ArrayList<>();
        while (!Thread.currentThread().isInterrupted()) {
            Processes.sleep(2000);
            if (!Files.exists(pidFile("broker")) && !Files.exists(pidFile("gateway"))) {
                stopOnExit = false;
                say("everything was stopped (from elsewhere); exiting");
                return;
            }
            for (String name : names()) {
                if (Files.exists(pidFile(name)) && !alive(name) && !reported.contains(name)) {
                    warn(name + " has exited; see " + logs.resolve(name + ".log"));
                    reported.add(name);
                }
            }
        }
        // Interrupted by the shutdown hook, which stops everything while this JVM ends.
    }

    void status() {
        System.out.printf("%-12s %-8s %-6s %-12s %s%n", "NAME", "PID", "ALIVE", "PORTS", "HEALTH");
        boolean any = false;
        for (String name : names()) {
            Optional<Long> pid = pid(name);
            boolean alive = alive(name);
            any |= alive;
            String ports = readPorts(name).stream().map(String::valueOf).collect(Collectors.joining(","));
            System.out.printf("%-12s %-8s %-6s %-12s %s%n", name, pid.map(String::valueOf).orElse("-"),
                    alive ? "yes" : pid.isEmpty() ? "no" : "no (stale pid file)", ports.isEmpty() ? "-" : ports,
                    health(name));
        }
        if (!any) {
            System.out.println("(nothing is running; state in " + home + ")");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Kafka
    // ---------------------------------------------------------------------------------------------------------

    private static String brokerName(int k) {
        return k == 1 ? "broker" : "broker-" + k;
    }

    private int nodePort(int k) {
        return kafkaPort + 2 * (k - 1);
    }

    private int nodeControllerPort(int k) {
        return controllerPort + 2 * (k - 1);
    }

    /** One broker keeps the layout it always had ({@code kafka/data}); a cluster lives in {@code kafka/cluster-N/}. */
    private Path clusterDir() {
        return brokers == 1 ? home.resolve("kafka") : home.resolve("kafka/cluster-" + brokers);
    }

    private Path nodeDir(int k) {
        return brokers == 1 ? clusterDir() : clusterDir().resolve("node-" + k);
    }

    private List<BrokerSettings.Node> cluster() {
        return IntStream.rangeClosed(1, brokers)
                .mapToObj(k -> new BrokerSettings.Node(k, nodePort(k), nodeControllerPort(k))).toList();
    }

    private String bootstrap() {
        return BrokerSettings.bootstrap(cluster());
    }

    /** Every node first (each waits for a quorum of controllers), then each one's readiness. */
    private void startBrokers() {
        Map<Integer, Long> started = new LinkedHashMap<>();
        for (BrokerSettings.Node node : cluster()) {
            String name = brokerName(node.id());
            if (alive(name)) {
                say(name + " already running (pid " + pid(name).orElseThrow() + ")");
                continue;
            }
            forget(name);
            Path dir = nodeDir(node.id());
            Path config = dir.resolve("server.properties");
            // Rewritten on every start, so changed ports take effect; the data (and cluster id) stay.
            Properties server = BrokerSettings.server(root, cluster(), node, dir.resolve("data"));
            mkdirs(dir.resolve("data"));
            try (OutputStream out = Files.newOutputStream(config)) {
                server.store(out, "Written by infra/local/diffq-local on every start; edits are lost.");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            format(name, dir, config);
            Path log = logs.resolve(name + ".log");
            started.put(node.id(), Processes.size(log));
            say("starting Kafka " + name + " on " + node.bootstrap() + " (controller " + node.controllerPort() + ")");
            launch(name, List.of(Processes.java(), "-Xmx512m", marker(name),
                    "-Dorg.slf4j.simpleLogger.showDateTime=true",
                    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS",
                    "-cp", kafkaLib() + "/*", "kafka.Kafka", config.toString()), Map.of(),
                    node.port(), node.controllerPort());
        }
        write(run.resolve("brokers.count"), String.valueOf(brokers));
        for (Map.Entry<Integer, Long> s : started.entrySet()) {
            BrokerSettings.Node node = cluster().get(s.getKey() - 1);
            String name = brokerName(node.id());
            try {
                KafkaReadiness.await(name, handle(name), node.bootstrap(), startTimeout, logs.resolve(name + ".log"),
                        s.getValue());
            } catch (Processes.StartFailure e) {
                throw failStart(name, e);
            }
            say(name + " ready (pid " + pid(name).orElseThrow() + ")");
        }
    }

    /** Formats a node's storage once, under the cluster's id (made and kept by its first node). */
    private void format(String name, Path dir, Path config) {
        if (Files.exists(dir.resolve("data/meta.properties"))) {
            return;
        }
        Path idFile = clusterDir().resolve("cluster.id");
        String id = read(idFile).map(String::strip).filter(s -> !s.isEmpty()).orElseGet(() -> {
            String made = Uuid.randomUuid().toString();
            write(idFile, made + "\n");
            return made;
        });
        say("formatting Kafka storage in " + dir.resolve("data") + " (cluster id " + id + ")");
        Path log = logs.resolve(name + ".log");
        Process p = Processes.start(List.of(Processes.java(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp",
                kafkaLib() + "/*", "kafka.tools.StorageTool", "format", "-t", id, "-c", config.toString()), log, root,
                Map.of(), false);
        try {
            if (p.waitFor() != 0) {
                throw new Failure("formatting Kafka storage failed; see " + log);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure("interrupted while formatting Kafka storage");
        }
    }

    private Path kafkaLib() {
        return root.resolve("infra/target/kafka/lib");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Gateway and workers
    // ---------------------------------------------------------------------------------------------------------

    private void startGateway() {
        if (alive("gateway")) {
            say("gateway already running (pid " + pid("gateway").orElseThrow() + ")");
            return;
        }
        forget("gateway");
        say("starting gateway on :" + gatewayPort + " (management :" + gatewayManagementPort + ")");
        List<String> cmd = new ArrayList<>(List.of(Processes.java()));
        cmd.addAll(words("DIFFQ_JAVA_OPTS"));
        cmd.add(marker("gateway"));
        cmd.addAll(AotCache.launch(Services.gatewayTraining(root.resolve("api-gateway/target/api-gateway.jar")), env,
                LocalRunner::say));
        cmd.add("--diffq.gateway.job-id-secret-file=" + jobIdSecret());
        cmd.addAll(Services.gateway(gatewayPort, gatewayManagementPort, bootstrap()));
        cmd.add("--diffq.topics.replicas=" + brokers);
        if (lanes) {
            cmd.add("--diffq.gateway.dispatch.enabled=true");
        }
        cmd.addAll(words("DIFFQ_GATEWAY_ARGS"));
        // The job-status store lives with the rest of the state: a restarted gateway reads only what it missed.
        // (An environment variable, so that DIFFQ_GATEWAY_ARGS may still name another directory.)
        Map<String, String> status = Map.of("DIFFQ_GATEWAY_STATUS_DIR", env.getOrDefault("DIFFQ_GATEWAY_STATUS_DIR",
                home.resolve("gateway-status").toString()));
        long offset = Processes.size(logs.resolve("gateway.log"));
        launch("gateway", cmd, status, gatewayPort, gatewayManagementPort);
        awaitHealthy("gateway", gatewayManagementPort, offset);
    }

    /**
     * The secret idempotent job ids are derived under: made once, kept with the state, readable by its owner only,
     * given as a file (never on a command line, where ps would show it).
     */
    private Path jobIdSecret() {
        Path secret = home.resolve("job-id-secret");
        if (read(secret).filter(s -> !s.isBlank()).isEmpty()) {
            byte[] bytes = new byte[32];
            new SecureRandom().nextBytes(bytes);
            try {
                Path tmp = Files.createTempFile(home, "job-id-secret", ".tmp",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.writeString(tmp, HexFormat.of().formatHex(bytes));
                Files.move(tmp, secret, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return secret;
    }

    private void startWorker(String name, int port) {
        forget(name);
        Path djlCache = home.resolve("djl-cache");
        mkdirs(djlCache);
        say("starting " + name + " on :" + port);
        List<String> cmd = new ArrayList<>(List.of(Processes.java()));
        cmd.addAll(words("DIFFQ_JAVA_OPTS"));
        cmd.addAll(List.of(marker(name), "-Dai.djl.offline=true"));
        cmd.addAll(AotCache.launch(Services.workerTraining(root.resolve("gpu-worker/target/gpu-worker.jar")), env,
                LocalRunner::say));
        cmd.addAll(Services.worker(name, port, bootstrap(), workerModels));
        if (lanes) {
            cmd.add("--diffq.worker.source=lanes");
        }
        cmd.addAll(words("DIFFQ_WORKER_ARGS"));
        long offset = Processes.size(logs.resolve(name + ".log"));
        launch(name, cmd, Map.of("DJL_CACHE_DIR", djlCache.toString()), port);
        awaitHealthy(name, port, offset);
    }

    /** The lowest N for which worker-N is not running. */
    private String nextWorkerName() {
        int n = 1;
        while (alive("worker-" + n)) {
            n++;
        }
        return "worker-" + n;
    }

    /** The first port from the worker base port upward that no live worker records and nothing holds. */
    private int nextWorkerPort() {
        List<Integer> used = new ArrayList<>(List.of(gatewayPort, gatewayManagementPort, kafkaPort, controllerPort,
                prometheusPort));
        liveWorkers().forEach(w -> used.addAll(readPorts(w)));
        for (int p = workerBasePort; p < workerBasePort + 200 && p <= 65535; p++) {
            if (!used.contains(p) && !Processes.inUse(p)) {
                return p;
            }
        }
        throw new Failure("no free port in " + workerBasePort + ".." + (workerBasePort + 199) + " for another worker");
    }

    /**
     * Until the gateway lists every model of {@code DIFFQ_WORKER_MODELS} as advertised ({@code GET /v1/models}): a
     * worker advertises its models once it has loaded them, and until the gateway has read that it refuses jobs for
     * them. Gives up with a warning (the services keep running).
     */
    private void awaitModels() {
        String url = "http://127.0.0.1:" + gatewayPort + "/v1/models";
        long deadline = System.nanoTime() + startTimeout.toNanos();
        while (true) {
            Optional<Processes.Answer> answer = Processes.request(url);
            if (answer.isPresent() && answer.get().status() == 401) {
                say("not checking the advertised models: the API needs a key");
                return;
            }
            String body = answer.filter(a -> a.status() == 200).map(Processes.Answer::body).orElse("");
            List<String> missing = Arrays.stream(workerModels.split(","))
                    .filter(m -> !body.contains("{\"name\":\"" + m + "\",\"advertised\":true")).toList();
            if (missing.isEmpty()) {
                say("gateway serves the workers' models: " + workerModels);
                return;
            }
            if (System.nanoTime() > deadline) {
                warn("the gateway does not list " + String.join(" ", missing) + " as advertised after "
                        + startTimeout.toSeconds() + "s (GET /v1/models); see the worker logs");
                return;
            }
            Processes.sleep(500);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Prometheus (optional)
    // ---------------------------------------------------------------------------------------------------------

    /** Why Prometheus is not started, or empty when it can be. */
    private String prometheusSkipReason() {
        if (Processes.executable("prometheus").isEmpty()) {
            return "no 'prometheus' binary on PATH (Debian: apt-get install prometheus)";
        }
        return Files.isRegularFile(prometheusConfig) ? "" : prometheusConfig + " does not exist";
    }

    private void startPrometheus() {
        if (alive("prometheus")) {
            reloadPrometheus();
            return;
        }
        forget("prometheus");
        String reason = prometheusSkipReason();
        if (!reason.isEmpty()) {
            say("Prometheus skipped: " + reason);
            return;
        }
        Path config = renderPrometheusConfig();
        mkdirs(home.resolve("prometheus"));
        say("starting Prometheus on :" + prometheusPort);
        long offset = Processes.size(logs.resolve("prometheus.log"));
        launch("prometheus", List.of("prometheus", "--config.file=" + config, marker("prometheus"),
                "--web.listen-address=127.0.0.1:" + prometheusPort), Map.of(), prometheusPort);
        try {
            Processes.await("prometheus", handle("prometheus"), startTimeout, Duration.ofSeconds(1),
                    () -> Processes.get("http://127.0.0.1:" + prometheusPort + "/-/ready").isPresent(),
                    logs.resolve("prometheus.log"), offset);
        } catch (Processes.StartFailure e) {
            throw failStart("prometheus", e);
        }
        say("Prometheus ready (pid " + pid("prometheus").orElseThrow() + ")");
    }

    /**
     * A copy of the config's folder (rule files come along, so relative rule_files keep working) whose local targets
     * are the running processes ({@link PrometheusTargets}).
     */
    private Path renderPrometheusConfig() {
        Path dir = home.resolve("prometheus-config");
        Path tmp = home.resolve("prometheus-config.tmp");
        List<Integer> workers = liveWorkers().stream().flatMap(w -> readPorts(w).stream().limit(1)).toList();
        try {
            Trees.delete(tmp);
            copyTree(prometheusConfig.toAbsolutePath().getParent(), tmp);
            Path file = tmp.resolve(prometheusConfig.getFileName());
            Files.writeString(file, PrometheusTargets.render(Files.readString(prometheusConfig), gatewayManagementPort,
                    gatewayPort, workers.isEmpty() ? List.of(workerBasePort) : workers, prometheusPort));
            Trees.delete(dir);
            Files.move(tmp, dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir.resolve(prometheusConfig.getFileName());
    }

    /** After the set of workers changed: new targets, and Prometheus reloads them (SIGHUP). */
    private void reloadPrometheus() {
        if (alive("prometheus") && Files.isRegularFile(prometheusConfig)) {
            renderPrometheusConfig();
            try {
                new ProcessBuilder("kill", "-HUP", String.valueOf(pid("prometheus").orElseThrow())).start().waitFor();
            } catch (IOException e) {
                warn("could not signal Prometheus: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Stop
    // ---------------------------------------------------------------------------------------------------------

    /** Workers, then the gateway and Prometheus, then the brokers; each group SIGTERM, then SIGKILL. */
    private void stopAll() {
        stopGroup(workers());
        stopGroup(List.of("gateway", "prometheus"));
        stopGroup(brokerNames());
        try {
            Files.deleteIfExists(run.resolve("brokers.count"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void stopGroup(List<String> names) {
        Map<String, ProcessHandle> live = new LinkedHashMap<>();
        for (String name : names) {
            if (alive(name)) {
                live.put(name, handle(name));
            } else {
                forget(name);
            }
        }
        if (live.isEmpty()) {
            return;
        }
        say("stopping " + String.join(" ", live.keySet()));
        Processes.stop(live, stopTimeout, LocalRunner::warn);
        live.keySet().forEach(this::forget);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reporting
    // ---------------------------------------------------------------------------------------------------------

    private String urls() {
        StringBuilder s = new StringBuilder("\ndiffq is running (state in " + home + ")\n");
        String row = "  %-18s %s%n";
        s.append(String.format(row, "API", "http://localhost:" + gatewayPort + "/v1/jobs"));
        s.append(String.format(row, "gateway metrics", "http://localhost:" + gatewayManagementPort
                + "/actuator/prometheus"));
        s.append(String.format(row, "gateway health", "http://localhost:" + gatewayManagementPort + "/actuator/health"));
        for (String w : liveWorkers()) {
            readPorts(w).stream().findFirst().ifPresent(p -> s.append(String.format(row, w + " metrics",
                    "http://localhost:" + p + "/actuator/prometheus")));
        }
        String reason = prometheusSkipReason();
        s.append(String.format(row, "Prometheus", alive("prometheus") ? "http://localhost:" + prometheusPort
                : "not running" + (reason.isEmpty() ? "" : " (" + reason + ")")));
        s.append(String.format(row, "Kafka", bootstrap()));
        s.append(String.format(row, "logs", logs + "/ (broker*.log, gateway.log, worker-N.log)"));
        String gw = "http://localhost:" + gatewayPort;
        String job = "'{\"prompt\":\"a red circle on a blue background\",\"model\":\"tiny\",\"width\":256,"
                + "\"height\":256}'";
        return s + "\nSubmit a job (answers 202 with {\"id\": \"...\", \"state\": \"QUEUED\", ...}):\n"
                + "  curl -s -X POST " + gw + "/v1/jobs -H 'Content-Type: application/json' -d " + job + "\n"
                + "Poll it until \"state\" is SUCCEEDED (or FAILED), then fetch the image:\n"
                + "  curl -s " + gw + "/v1/jobs/ID\n"
                + "  curl -s " + gw + "/v1/jobs/ID/image -o out.png\n"
                + "All in one go:\n"
                + "  id=$(curl -s -X POST " + gw + "/v1/jobs -H 'Content-Type: application/json' -d " + job
                + " | sed -n 's/.*\"id\" *: *\"\\([^\"]*\\)\".*/\\1/p'); echo \"job $id\"\n"
                + "  until curl -s " + gw + "/v1/jobs/$id | grep -Eq '\"state\" *: *\"(SUCCEEDED|FAILED|CANCELED|"
                + "EXPIRED)\"'; do sleep 1; done; curl -s " + gw + "/v1/jobs/$id; echo\n"
                + "  curl -s " + gw + "/v1/jobs/$id/image -o out.png && ls -l out.png\n\n"
                + "More workers: diffq-local add-worker    Status: diffq-local status    Logs: diffq-local logs    "
                + "Stop: diffq-local stop\n";
    }

    private String health(String name) {
        if (!alive(name)) {
            return "-";
        }
        List<Integer> ports = readPorts(name);
        if (name.startsWith("broker")) {
            return Processes.accepts(ports.isEmpty() ? kafkaPort : ports.get(0)) ? "UP (port open)"
                    : "DOWN (port closed)";
        }
        if (name.equals("prometheus")) {
            return Processes.get("http://127.0.0.1:" + (ports.isEmpty() ? prometheusPort : ports.get(0)) + "/-/ready")
                    .isPresent() ? "UP" : "NOT READY";
        }
        int port = name.equals("gateway") ? (ports.size() > 1 ? ports.get(1) : gatewayManagementPort)
                : ports.isEmpty() ? -1 : ports.get(0);
        if (port < 0) {
            return "?";
        }
        String body = Processes.request("http://127.0.0.1:" + port + "/actuator/health")
                .map(Processes.Answer::body).orElse("");
        Matcher m = HEALTH_STATUS.matcher(body);
        return body.contains("\"UP\"") ? "UP" : m.find() ? m.group(1) : "UNREACHABLE";
    }

    static String help() {
        return """
                diffq-local — run diffq on this machine without Docker: a real KRaft Kafka broker (or three),
                the API gateway, GPU workers (CPU without a GPU) and, when available, Prometheus.

                Usage: diffq-local COMMAND

                Commands:
                  run           start everything, stay in the foreground, stop everything on Ctrl-C / SIGTERM
                  start         build if needed, start broker, gateway and one worker (and Prometheus) in the
                                background; returns once all are healthy
                  start-broker  start only the Kafka broker (to run the services from an IDE or tests)
                  add-worker    start one more worker (worker-N on the next free port from the worker base port)
                  status        each process: name, pid, alive?, ports, health
                  logs [NAME]   follow the logs (tail -F) of NAME (broker, gateway, worker-1, ...), or of all
                  stop          stop workers, then gateway (and Prometheus), then broker; SIGTERM, then SIGKILL
                                after DIFFQ_STOP_TIMEOUT; fine when nothing runs
                  help          this text

                Environment (defaults in brackets):
                  DIFFQ_HOME                      state: pid files, logs, Kafka data, DJL cache [.diffq-local]
                  DIFFQ_GATEWAY_PORT              gateway HTTP API [8080]
                  DIFFQ_GATEWAY_MANAGEMENT_PORT   gateway actuator (health, /actuator/prometheus) [8081]
                  DIFFQ_WORKER_MANAGEMENT_PORT    first worker's port; further workers take the next free ones [8091]
                  DIFFQ_KAFKA_PORT                Kafka broker (PLAINTEXT, 127.0.0.1 only) [9092]
                  DIFFQ_KAFKA_CONTROLLER_PORT     Kafka KRaft controller [9093]
                  DIFFQ_KAFKA_BROKERS             1, or 3 for a three-node KRaft cluster (node k on both ports + 2(k-1);
                                                  topics with 3 replicas and min.insync.replicas 2: one broker may die) [1]
                  DIFFQ_PROMETHEUS_PORT           Prometheus web [9090]
                  DIFFQ_JAVA_OPTS                 extra JVM options for gateway and workers, e.g. "-Xmx2g"
                  DIFFQ_WORKER_MODELS             models each worker loads [simulated,tiny]; with lanes, a worker started
                                                  with other models joins the pool of those (add-worker beside the rest)
                  DIFFQ_LANES                     1: the gateway dispatches to pools' lanes, as Compose and Kubernetes
                                                  do; 0: every worker on diffq.jobs (and must serve every model) [1]
                  DIFFQ_WORKER_ARGS               extra Spring args for workers, e.g. "--diffq.worker.simulated.latency=500ms"
                  DIFFQ_GATEWAY_ARGS              extra Spring args for the gateway
                  DIFFQ_SKIP_BUILD=1              never build; use the jars as they are
                  DIFFQ_AOT_CACHE=0               start gateway and workers without their start-up caches (JDK 25:
                                                  made once per build in */target/aot/, about half the start time)
                  DIFFQ_START_TIMEOUT             seconds each process may take to become healthy [180]
                  DIFFQ_STOP_TIMEOUT              seconds each stop waits after SIGTERM before SIGKILL [30]
                  DIFFQ_PROMETHEUS_CONFIG         the Prometheus config to run [infra/prometheus/prometheus.yml]

                Build: the jars are (re)built with 'mvn -B -q -DskipTests package' when one is missing or a
                pom.xml or a file under */src/main is newer.

                Prometheus starts when a 'prometheus' binary is on PATH and the config exists. It runs a copy
                (in $DIFFQ_HOME/prometheus-config/, with the config's folder, so relative rule_files work) in
                which localhost:8081 becomes the gateway's management port, localhost:8080 the gateway port,
                localhost:9090 Prometheus' own port, and localhost:8091 every running worker (add-worker
                updates the copy and reloads Prometheus).

                Logs: $DIFFQ_HOME/logs/{broker,gateway,prometheus,worker-N}.log. Kafka data stays across
                restarts in $DIFFQ_HOME/kafka/data; delete $DIFFQ_HOME (after stop) to start from scratch.
                """;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Process bookkeeping
    // ---------------------------------------------------------------------------------------------------------

    private void prepare() {
        Stream.of(run, logs, home.resolve("kafka")).forEach(LocalRunner::mkdirs);
    }

    /** Ports of running processes win over the environment, so a later command talks to what runs. */
    private void adoptRunningPorts() {
        if (alive("broker")) {
            List<Integer> p = readPorts("broker");
            kafkaPort = p.size() > 0 ? p.get(0) : kafkaPort;
            controllerPort = p.size() > 1 ? p.get(1) : controllerPort;
            brokers = read(run.resolve("brokers.count")).map(String::strip).filter(SECONDS.asMatchPredicate())
                    .map(Integer::parseInt).orElse(brokers);
        }
        if (alive("gateway")) {
            List<Integer> p = readPorts("gateway");
            gatewayPort = p.size() > 0 ? p.get(0) : gatewayPort;
            gatewayManagementPort = p.size() > 1 ? p.get(1) : gatewayManagementPort;
        }
        if (alive("prometheus")) {
            prometheusPort = readPorts("prometheus").stream().findFirst().orElse(prometheusPort);
        }
    }

    /** The argument that marks a process as {@code name} of this {@code DIFFQ_HOME}. */
    private String marker(String name) {
        return name.equals("prometheus") ? "--storage.tsdb.path=" + home.resolve("prometheus")
                : "-Ddiffq.local.process=" + home + "/" + name;
    }

    /** Starts {@code name} detached, its output appended to its log, and records its pid and ports. */
    private void launch(String name, List<String> cmd, Map<String, String> environment, Integer... ports) {
        Path log = logs.resolve(name + ".log");
        append(log, "\n===== " + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss"))
                + " diffq-local: starting " + name + " =====\n");
        Process p = Processes.start(cmd, log, root, environment, true);
        write(pidFile(name), p.pid() + "\n");
        write(run.resolve(name + ".port"), Arrays.stream(ports).map(String::valueOf).collect(Collectors.joining(" "))
                + "\n");
    }

    private void awaitHealthy(String name, int managementPort, long logOffset) {
        String url = "http://127.0.0.1:" + managementPort + "/actuator/health";
        try {
            Processes.await(name, handle(name), startTimeout, Duration.ofSeconds(1), () -> Processes.healthy(url),
                    logs.resolve(name + ".log"), logOffset);
        } catch (Processes.StartFailure e) {
            throw failStart(name, e);
        }
        say(name + " healthy (pid " + pid(name).orElseThrow() + ")");
    }

    /** A start that failed: the process is stopped, and the failure says what else still runs. */
    private Failure failStart(String name, Processes.StartFailure e) {
        stopGroup(List.of(name));
        return new Failure(e.getMessage() + (stopOnExit ? "" : "\ndiffq-local: anything started before " + name
                + " is still running: 'diffq-local status' shows it, 'diffq-local stop' stops it"));
    }

    private Path pidFile(String name) {
        return run.resolve(name + ".pid");
    }

    private Optional<Long> pid(String name) {
        return read(pidFile(name)).map(String::strip).filter(SECONDS.asMatchPredicate()).map(Long::parseLong);
    }

    /** Alive, and the process {@code name} of this DIFFQ_HOME (not a recycled pid). */
    private boolean alive(String name) {
        return pid(name).flatMap(ProcessHandle::of).filter(Processes::running)
                .filter(p -> Processes.arguments(p.pid()).contains(marker(name))).isPresent();
    }

    private ProcessHandle handle(String name) {
        return pid(name).flatMap(ProcessHandle::of).orElseThrow(() -> new Failure(name + " is not running"));
    }

    private List<Integer> readPorts(String name) {
        return read(run.resolve(name + ".port")).map(s -> Arrays.stream(s.strip().split("\\s+"))
                .filter(PORT.asMatchPredicate()).map(Integer::parseInt).toList()).orElse(List.of());
    }

    private void forget(String name) {
        try {
            Files.deleteIfExists(pidFile(name));
            Files.deleteIfExists(run.resolve(name + ".port"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every broker with a pid file (whatever DIFFQ_KAFKA_BROKERS says now), node 1 first. */
    private List<String> brokerNames() {
        return Stream.concat(Stream.of("broker"), pidNames("broker-[0-9]+").stream()).toList();
    }

    /** Workers with a pid file, in numeric order. */
    private List<String> workers() {
        return pidNames("worker-[0-9]+").stream()
                .sorted((a, b) -> Integer.compare(Integer.parseInt(a.substring(7)), Integer.parseInt(b.substring(7))))
                .toList();
    }

    private List<String> liveWorkers() {
        return workers().stream().filter(this::alive).toList();
    }

    private List<String> names() {
        List<String> names = new ArrayList<>(brokerNames());
        names.add("gateway");
        if (Files.exists(pidFile("prometheus"))) {
            names.add("prometheus");
        }
        names.addAll(workers());
        return names;
    }

    private List<String> pidNames(String pattern) {
        if (!Files.isDirectory(run)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(run)) {
            return files.map(f -> f.getFileName().toString()).filter(f -> f.endsWith(".pid"))
                    .map(f -> f.substring(0, f.length() - 4)).filter(n -> n.matches(pattern)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * start, add-worker and stop hold {@code $DIFFQ_HOME/.lock}, so that two of them cannot race. (A lock of this
     * process: the processes it starts do not hold it.)
     */
    private void lock() {
        try {
            lockChannel = FileChannel.open(home.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while ((lock = lockChannel.tryLock()) == null) {
                if (System.nanoTime() > deadline) {
                    throw new Failure("another diffq-local holds " + home.resolve(".lock"));
                }
                Processes.sleep(200);
            }
        } catch (OverlappingFileLockException held) {
            // this process holds it already (run's stop on exit)
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private synchronized void unlock() {
        try {
            if (lock != null) {
                lock.release();
                lock = null;
            }
            if (lockChannel != null) {
                lockChannel.close();
                lockChannel = null;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void requireFree(List<String> taken, int port, String what) {
        if (Processes.inUse(port)) {
            taken.add("  port " + port + " (" + what + ") is already in use");
        }
    }

    private int port(Map<String, Integer> seen, String variable, int fallback) {
        String value = env.getOrDefault(variable, String.valueOf(fallback));
        if (!PORT.matcher(value).matches() || Integer.parseInt(value) < 1 || Integer.parseInt(value) > 65535) {
            throw new Failure(variable + "='" + value + "' is not a port number (1-65535)");
        }
        int port = Integer.parseInt(value);
        seen.entrySet().stream().filter(e -> e.getValue() == port).findFirst().ifPresent(e -> {
            throw new Failure(variable + " and " + e.getKey() + " are both " + port + "; give each its own port");
        });
        seen.put(variable, port);
        return port;
    }

    private Duration seconds(String variable, int fallback) {
        String value = env.getOrDefault(variable, String.valueOf(fallback));
        if (!SECONDS.matcher(value).matches()) {
            throw new Failure(variable + "='" + value + "' is not a number of seconds");
        }
        return Duration.ofSeconds(Long.parseLong(value));
    }

    /** A variable's words, split on whitespace (no quote processing): "-Xmx2g -Dfoo=bar". */
    private List<String> words(String variable) {
        String value = env.getOrDefault(variable, "").strip();
        return value.isEmpty() ? List.of() : List.of(value.split("\\s+"));
    }

    private static Optional<String> read(Path file) {
        try {
            return Files.exists(file) ? Optional.of(Files.readString(file)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Written whole or not at all (a temporary file moved into place). */
    private static void write(Path file, String text) {
        try {
            mkdirs(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, text);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void append(Path file, String text) {
        try {
            mkdirs(file.getParent());
            Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void mkdirs(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }


    private static void say(String message) {
        System.out.println("diffq-local: " + message);
    }

    private static void warn(String message) {
        System.err.println("diffq-local: " + message);
    }
}
