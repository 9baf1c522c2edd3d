package io.diffq.chaos;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The nemesis's plan, drawn up front from the seed alone, so that a seed replays: a fault every 3–10 s (so at
 * least one every 10 s); kill -9, SIGSTOP pauses of 1–20 s and clean restarts, of brokers, gateways and workers.
 * Never two brokers (nor two gateways) out at once, nor two faults on one target: a fault whose target class is
 * still out moves to a free target, workers first
 * (with everything out, to the worker back first, which the nemesis waits for).
 */
final class FaultSchedule {

    /** How long a process takes to come back after it is started, for planning only (the nemesis waits for real). */
    private static final Map<String, Long> START_MS = Map.of("broker", 15_000L, "gateway", 15_000L, "worker", 15_000L);

    private static final List<String> WORKERS_FIRST = List.of("worker-1", "worker-2", "worker-3", "gateway-1",
            "gateway-2", "broker-1", "broker-2", "broker-3");

    private FaultSchedule() {
    }

    static List<Fault> draw(long seed, long durationMs) {
        // Its own stream: the clients' draws never shift the schedule.
        SplittableRandom random = Seeds.stream(seed, "nemesis");
        List<Fault> plan = new ArrayList<>();
        Map<String, Long> outUntil = new HashMap<>();
        for (long at = random.nextLong(2_000, 5_000); at < durationMs; at += random.nextLong(3_000, 10_001)) {
            long t = at;
            String role = pick(random, "broker", 40, "gateway", 25, "worker");
            int count = role.equals("gateway") ? 2 : 3;
            String target = role + "-" + (1 + random.nextInt(count));
            if (!free(outUntil, target, t)) {
                // Everything out: the worker back first takes it, once back (the nemesis waits for it).
                target = WORKERS_FIRST.stream().filter(x -> free(outUntil, x, t)).findFirst()
                        .orElseGet(() -> WORKERS_FIRST.subList(0, 3).stream()
                                .min(Comparator.comparingLong(w -> outUntil.getOrDefault(w, 0L))).orElseThrow());
            }
            Fault.Kind kind = Fault.Kind.valueOf(pick(random, "KILL", 40, "PAUSE", 35, "RESTART"));
            long duration = switch (kind) {
                case PAUSE -> random.nextLong(1_000, 20_001);
                case KILL -> random.nextLong(1_000, 10_001);
                case RESTART -> 0;
            };
            Fault f = new Fault(t, kind, target, duration);
            plan.add(f);
            long back = Math.max(t, outUntil.getOrDefault(target, 0L)) + duration
                    + (kind == Fault.Kind.PAUSE ? 0 : START_MS.get(f.role()));
            outUntil.put(target, back);
            if (!f.role().equals("worker")) {
                outUntil.put(f.role(), back);
            }
        }
        return plan;
    }

    private static String pick(SplittableRandom random, String a, int pa, String b, int pb, String c) {
        int r = random.nextInt(100);
        return r < pa ? a : r < pa + pb ? b : c;
    }

    /** Whether neither the target nor (for a broker or gateway) another of its class is out at {@code t}. */
    private static boolean free(Map<String, Long> outUntil, String target, long t) {
        String role = target.substring(0, target.indexOf('-'));
        return outUntil.getOrDefault(target, 0L) <= t && (role.equals("worker") || outUntil.getOrDefault(role, 0L) <= t);
    }
}
