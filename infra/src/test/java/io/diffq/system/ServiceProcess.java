package io.diffq.system;

import io.diffq.launcher.AotCache;
import io.diffq.launcher.Processes;
import io.diffq.launcher.Services;
import io.diffq.testing.JvmOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A diffq service (gateway or worker) run from its packaged jar in its own JVM, as in production. */
public final class ServiceProcess implements AutoCloseable {

    /** The repository root: {@code diffq.root}, else the infra module's parent (tests run in the module). */
    static final Path ROOT = System.getProperty("diffq.root") != null ? Path.of(System.getProperty("diffq.root"))
            : Path.of("").toAbsolutePath().getParent();
    /** A JVM option that starts the plain Boot jar, without the start-up cache (AotCache), for comparisons. */
    static final String NO_START_UP_CACHE = "-XX:AOTMode=off";
    private static final Path GATEWAY_JAR = ROOT.resolve("api-gateway/target/api-gateway.jar");
    private static final Path WORKER_JAR = ROOT.resolve("gpu-worker/target/gpu-worker.jar");

    private final String name;
    private final Path log;
    private final int managementPort;
    private final Process process;
    /** {@link System#nanoTime()} just before the process was started. */
    private final long startedNanos;

    private ServiceProcess(String name, Path log, int managementPort, Process process, long startedNanos) {
        this.name = name;
        this.log = log;
        this.managementPort = managementPort;
        this.process = process;
        this.startedNanos = startedNanos;
    }

    public static ServiceProcess gateway(Path dir, String name, String bootstrap, int port, int managementPort,
            String... extra) {
        ServiceProcess s = launchGateway(dir, name, bootstrap, port, managementPort, extra);
        s.awaitHealthy(Duration.ofSeconds(120));
        return s;
    }

    /**
     * A gateway as {@link #gateway} starts it, returned as soon as its JVM is started, without waiting for it
     * to be healthy: for whoever times its start-up ({@link #startedNanos()}) or waits for another endpoint.
     */
    static ServiceProcess launchGateway(Path dir, String name, String bootstrap, int port, int managementPort,
            String... extra) {
        return launchGateway(dir, name, bootstrap, port, managementPort, List.of(), extra);
    }

    /** As above, with JVM options after the bench's ({@link #NO_START_UP_CACHE}: without the start-up cache). */
    static ServiceProcess launchGateway(Path dir, String name, String bootstrap, int port, int managementPort,
            List<String> jvmOptions, String... extra) {
        List<String> args = new ArrayList<>(Services.gateway(port, managementPort, bootstrap));
        args.addAll(List.of(
                "--diffq.topics.partitions=4",
                // Several partitions of diffq.jobs, as a production fleet has: the workers' share group spreads
                // them (failover, fencing and the spread of jobs are tested across partitions).
                "--diffq.topics.job-partitions=4",
                // System tests drive load from one address; the limiter has its own tests.
                "--diffq.gateway.security.rate-limit.enabled=false",
                // They run the simulated model: the default here, and taken even before a worker has
                // advertised it (they start, stop and kill workers throughout). Other models must be advertised.
                "--diffq.gateway.models.served=simulated",
                "--diffq.gateway.models.default-model=simulated"));
        List<String> options = new ArrayList<>(JvmOptions.fromEnvironment("BENCH_GATEWAY_JVM_ARGS"));
        options.addAll(jvmOptions);
        return launch(name, GATEWAY_JAR, dir, managementPort, overridden(args, extra), options, Map.of());
    }

    public static ServiceProcess worker(Path dir, String name, String bootstrap, int managementPort, String... extra) {
        return start(name, WORKER_JAR, dir, managementPort,
                workerArgs(name, bootstrap, managementPort, extra), JvmOptions.fromEnvironment("BENCH_WORKER_JVM_ARGS"),
                Map.of());
    }

    /**
     * A worker whose PyTorch runs on {@code torchThreads} threads (DJL's intra-op threads and OpenMP's), so that
     * a test running a real model beside other processes does not take every core.
     */
    public static ServiceProcess worker(Path dir, String name, String bootstrap, int managementPort, int torchThreads,
            String... extra) {
        return start(name, WORKER_JAR, dir, managementPort,
                workerArgs(name, bootstrap, managementPort, extra),
                List.of("-Dai.djl.pytorch.num_threads=" + torchThreads),
                Map.of("OMP_NUM_THREADS", String.valueOf(torchThreads)));
    }

    /** The system tests' jobs run on the simulated model unless a test names the models itself. */
    private static List<String> workerArgs(String name, String bootstrap, int managementPort, String... extra) {
        return overridden(Services.worker(name, managementPort, bootstrap, "simulated"), extra);
    }

    /**
     * The defaults with the extra arguments after them; an extra {@code --name=value} replaces the default of
     * the same name (Spring would join two values of one name into a list, which most properties reject).
     */
    private static List<String> overridden(List<String> defaults, String... extra) {
        List<String> names = Arrays.stream(extra).map(ServiceProcess::propertyName).toList();
        List<String> args = new ArrayList<>(defaults.stream().filter(d -> !names.contains(propertyName(d))).toList());
        args.addAll(List.of(extra));
        return args;
    }

    private static String propertyName(String arg) {
        int eq = arg.indexOf('=');
        return eq < 0 ? arg : arg.substring(0, eq);
    }

    private static ServiceProcess start(String name, Path jar, Path dir, int managementPort, List<String> args,
            List<String> jvmOptions, Map<String, String> environment) {
        ServiceProcess s = launch(name, jar, dir, managementPort, args, jvmOptions, environment);
        s.awaitHealthy(Duration.ofSeconds(120));
        return s;
    }

    /** Starts the service's JVM and returns at once. */
    private static ServiceProcess launch(String name, Path jar, Path dir, int managementPort, List<String> args,
            List<String> jvmOptions, Map<String, String> environment) {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: run the build (mvn package) first");
        }
        List<String> cmd = new ArrayList<>(List.of(
                Processes.java(),
                "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        cmd.addAll(jvmOptions);
        // Started from the start-up cache (JDK 25 and later), as the local runner starts them: about half the time.
        List<String> start = jvmOptions.contains(NO_START_UP_CACHE) ? List.of("-jar", jar.toString())
                : AotCache.launch(jar.equals(GATEWAY_JAR) ? Services.gatewayTraining(jar) : Services.workerTraining(jar),
                        System.getenv(), message -> System.out.println("[" + name + "] " + message));
        if (start.get(0).startsWith("-XX:AOTCache=")) {
            // A cache the JVM refuses fails the start here, rather than only costing the time it should save.
            cmd.add("-XX:AOTMode=on");
        }
        cmd.addAll(start);
        cmd.addAll(args);
        Path log = dir.resolve(name + ".log");
        long startedNanos = System.nanoTime();
        Process p = Processes.start(cmd, log, Path.of(""), environment, false);
        return new ServiceProcess(name, log, managementPort, p, startedNanos);
    }

    private void awaitHealthy(Duration timeout) {
        Processes.await(name, process.toHandle(), timeout, Duration.ofMillis(250),
                () -> Processes.healthy("http://127.0.0.1:" + managementPort + "/actuator/health"), log, 0);
    }

    /** SIGTERM: a graceful shutdown. */
    public void stop() {
        process.destroy();
        await(Duration.ofSeconds(60));
    }

    /** SIGKILL. */
    public void kill() {
        process.destroyForcibly();
        await(Duration.ofSeconds(30));
    }

    /** This service's Prometheus scrape. */
    String scrape() {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + managementPort + "/actuator/prometheus")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Resident memory of the process, in KiB, from /proc (Linux). */
    long residentKib() {
        return procStatusKib(process.pid(), "VmRSS");
    }

    /** The most resident memory the process has had since it started ({@code VmHWM}), in KiB; -1 when gone. */
    long peakResidentKib() {
        return procStatusKib(process.pid(), "VmHWM");
    }

    public long pid() {
        return process.pid();
    }

    /** The port of the service's actuator endpoints. */
    int managementPort() {
        return managementPort;
    }

    /** {@link System#nanoTime()} just before the process was started. */
    long startedNanos() {
        return startedNanos;
    }

    /** CPU time the process has used (user + system), in milliseconds, from /proc (Linux); -1 when gone. */
    long cpuMillis() {
        return BenchCpu.processMillis(process.pid());
    }

    /** A {@code kB} field of {@code /proc/<pid>/status} (Linux), or -1 when the process is gone or it is absent. */
    static long procStatusKib(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone, or not Linux
        }
        return -1;
    }

    public String name() {
        return name;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public String tail() {
        return Processes.tail(log, 0, 40);
    }

    private void await(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sleeps, keeping the interrupt flag if interrupted: the system tests' one pause. */
    static void sleep(long ms) {
        Processes.sleep(ms);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            stop();
        }
    }
}
