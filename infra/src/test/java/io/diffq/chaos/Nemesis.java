package io.diffq.chaos;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;

/**
 * Carries out a {@link FaultSchedule} on a {@link ChaosCluster}: each fault on its own thread at its planned time,
 * healed after its duration. Brokers are hit one at a time, gateways one at a time, each target one fault at a
 * time: a fault whose class is still out waits until it is back (and is logged with its real time).
 */
final class Nemesis {

    /** A fault as carried out: when it was injected and healed (ms after the load began), or why it failed. */
    record Executed(Fault fault, long injectedMs, long healedMs, String error) {
    }

    private final ChaosCluster cluster;
    private final List<Fault> plan;
    private final List<Executed> executed = new CopyOnWriteArrayList<>();
    private final Map<String, Semaphore> outs = new ConcurrentHashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    private long began;

    Nemesis(ChaosCluster cluster, List<Fault> plan) {
        this.cluster = cluster;
        this.plan = plan;
    }

    /** Starts carrying out the plan, its times counted from now. */
    void start() {
        began = System.currentTimeMillis();
        for (Fault f : plan) {
            Thread t = new Thread(() -> carryOut(f), "nemesis-" + f.target() + "@" + f.atMs());
            t.start();
            threads.add(t);
        }
    }

    /** Waits for every fault to be healed, then starts whatever is still down. */
    void heal() throws InterruptedException {
        for (Thread t : threads) {
            t.join();
        }
        for (String target : ChaosCluster.targets()) {
            cluster.resume(target);
            if (!cluster.isRunning(target)) {
                log("heal: starting %s", target);
                cluster.start(target);
            }
        }
    }

    List<Executed> executed() {
        return executed.stream().sorted(Comparator.comparingLong(Executed::injectedMs)).toList();
    }

    long began() {
        return began;
    }

    private void carryOut(Fault f) {
        sleepUntil(began + f.atMs());
        Semaphore role = f.role().equals("worker") ? null : outs.computeIfAbsent(f.role(), r -> new Semaphore(1));
        Semaphore target = outs.computeIfAbsent(f.target(), r -> new Semaphore(1));
        try {
            if (role != null) {
                role.acquire();
            }
            target.acquire();
            try {
                long injected = System.currentTimeMillis() - began;
                log("inject %s (planned %s)", f, injected - f.atMs() > 500 ? "t+" + f.atMs() / 1000.0 + "s, delayed" : "on time");
                String error = inject(f);
                long healed = System.currentTimeMillis() - began;
                executed.add(new Executed(f, injected, healed, error));
                log("healed %s %s after %.1fs%s", f.kind().name().toLowerCase(), f.target(), (healed - injected) / 1000.0,
                        error == null ? "" : " (" + error + ")");
            } finally {
                target.release();
                if (role != null) {
                    role.release();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Injects the fault and heals it; returns what went wrong, or {@code null}. */
    private String inject(Fault f) {
        try {
            switch (f.kind()) {
                case KILL -> {
                    cluster.kill(f.target());
                    Thread.sleep(f.durationMs());
                    cluster.start(f.target());
                }
                case PAUSE -> {
                    cluster.pause(f.target());
                    Thread.sleep(f.durationMs());
                    cluster.resume(f.target());
                }
                case RESTART -> {
                    cluster.stop(f.target());
                    cluster.start(f.target());
                }
            }
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        } catch (RuntimeException e) {
            return e.getClass().getSimpleName() + ": " + firstLine(e.getMessage());
        }
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }

    private static void sleepUntil(long epochMs) {
        long wait = epochMs - System.currentTimeMillis();
        if (wait > 0) {
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static void log(String format, Object... args) {
        System.err.printf("[chaos %tT] %s%n", System.currentTimeMillis(), String.format(format, args));
    }
}
