package io.diffq.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CPU time per job, per process and for the whole machine (Linux {@code /proc}): whether a scenario is bound by
 * the CPU of the box or by waits ({@code docs/design/drain.md}, M1). A snapshot before and one after a scenario;
 * their difference over the jobs it ran.
 */
final class BenchCpu {

    /** USER_HZ: the unit of the {@code /proc} tick counts (100 on every Linux this runs on). */
    private static final long TICKS_PER_SECOND = 100;

    /** CPU milliseconds of each named process, and the machine's busy and total ticks (all cores). */
    record Snapshot(Map<String, Long> processMillis, long busyTicks, long totalTicks) {
    }

    private BenchCpu() {
    }

    /** The CPU time so far of each named pid (a process gone counts as -1), and the machine's counters. */
    static Snapshot take(Map<String, Long> pids) {
        Map<String, Long> millis = new LinkedHashMap<>();
        pids.forEach((name, pid) -> millis.put(name, processMillis(pid)));
        long[] machine = machineTicks(read(Path.of("/proc/stat")));
        return new Snapshot(millis, machine[0], machine[1]);
    }

    /**
     * Per job: each process's CPU milliseconds, {@code other} (whatever else ran on the machine: the rest of its
     * processes), {@code all}, and the machine's busy share of its cores in percent over the interval.
     */
    static Map<String, Object> perJob(Snapshot before, Snapshot after, int jobs) {
        Map<String, Object> out = new LinkedHashMap<>();
        double n = Math.max(1, jobs);
        long named = 0;
        for (Map.Entry<String, Long> e : after.processMillis().entrySet()) {
            Long was = before.processMillis().get(e.getKey());
            if (was == null || was < 0 || e.getValue() < 0) {
                continue;
            }
            long used = e.getValue() - was;
            named += used;
            out.put(e.getKey(), LatencyStats.round(used / n));
        }
        long allMillis = (after.busyTicks() - before.busyTicks()) * 1000 / TICKS_PER_SECOND;
        out.put("other", LatencyStats.round(Math.max(0, allMillis - named) / n));
        out.put("all", LatencyStats.round(allMillis / n));
        long total = after.totalTicks() - before.totalTicks();
        out.put("machineBusyPercent", total <= 0 ? 0.0
                : LatencyStats.round(100.0 * (after.busyTicks() - before.busyTicks()) / total));
        return out;
    }

    /** utime + stime of a pid in milliseconds, or -1 when it is gone. */
    static long processMillis(long pid) {
        try {
            return processMillis(Files.readString(Path.of("/proc", String.valueOf(pid), "stat")));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** utime + stime of a {@code /proc/<pid>/stat} line, in milliseconds. */
    static long processMillis(String stat) {
        // After the command name (in parentheses, may hold spaces and parentheses): state is field 3, utime 14, stime 15.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 1000 / TICKS_PER_SECOND;
    }

    /** Busy and total ticks of all cores from {@code /proc/stat}'s first line (idle and iowait are not busy). */
    static long[] machineTicks(String procStat) {
        String[] f = procStat.lines().findFirst().orElseThrow().trim().split("\\s+");
        long total = 0;
        long idle = 0;
        // cpu user nice system idle iowait irq softirq steal [guest guest_nice: already in user and nice]
        for (int i = 1; i <= Math.min(8, f.length - 1); i++) {
            long v = Long.parseLong(f[i]);
            total += v;
            if (i == 4 || i == 5) {
                idle += v;
            }
        }
        return new long[] {total - idle, total};
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "cpu 0 0 0 0 0 0 0 0";
        }
    }
}
