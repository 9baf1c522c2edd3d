package io.diffq.chaos;

/**
 * One planned fault: at {@code atMs} after the load began, {@code kind} hits {@code target} for {@code durationMs}
 * (a pause's length, or how long a killed process stays down; a clean restart starts again at once).
 */
record Fault(long atMs, Kind kind, String target, long durationMs) {

    /** {@code kill}: SIGKILL then start again; {@code pause}: SIGSTOP then SIGCONT; {@code restart}: SIGTERM then start. */
    enum Kind { KILL, PAUSE, RESTART }

    /** The target's class: {@code broker}, {@code gateway} or {@code worker}. */
    String role() {
        return target.substring(0, target.indexOf('-'));
    }

    @Override
    public String toString() {
        return String.format("t+%6.1fs %-7s %-9s %5.1fs", atMs / 1000.0, kind.name().toLowerCase(), target,
                durationMs / 1000.0);
    }
}
