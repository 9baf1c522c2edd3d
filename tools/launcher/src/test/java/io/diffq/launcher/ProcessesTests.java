package io.diffq.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessesTests {

    @Test
    void aProcessThatIgnoresSigtermIsKilledAfterTheGraceAndNamed(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("stubborn.log");
        Process p = Processes.start(List.of("bash", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"),
                log, dir, Map.of(), false);
        Processes.await("stubborn", p.toHandle(), Duration.ofSeconds(10), Duration.ofMillis(50),
                () -> Processes.tail(log, 0, 1).equals("ready"), log, 0);
        List<String> warnings = new ArrayList<>();

        Processes.stop(Map.of("stubborn", p.toHandle()), Duration.ofMillis(500), warnings::add);

        // Dead on return (a zombie until the JDK's reaper collects it, which may lag a little): it ignores SIGTERM and
        // loops forever, so only the SIGKILL ends it.
        assertThat(Processes.running(p.toHandle())).isFalse();
        assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(warnings).containsExactly("stubborn did not stop within 0s; killing it (SIGKILL)");
    }

    @Test
    void aStartThatExitsFailsWithWhatItWroteSinceItStarted(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("short.log");
        Files.writeString(log, "an earlier run\n");
        long offset = Processes.size(log);
        Process p = Processes.start(List.of("bash", "-c", "echo bad config; exit 3"), log, dir, Map.of("X", "1"), true);

        assertThatThrownBy(() -> Processes.await("short", p.toHandle(), Duration.ofSeconds(10), Duration.ofMillis(50),
                () -> false, log, offset)).isInstanceOf(Processes.StartFailure.class)
                .hasMessageStartingWith("short exited during startup")
                .hasMessageContaining("bad config").hasMessageNotContaining("an earlier run");
    }

    @Test
    void aDetachedProcessKeepsItsPidInASessionOfItsOwn(@TempDir Path dir) throws Exception {
        Process p = Processes.start(List.of("sleep", "30"), dir.resolve("sleep.log"), dir, Map.of(), true);
        try {
            // setsid execs sleep in its place.
            Processes.await("sleep", p.toHandle(), Duration.ofSeconds(10), Duration.ofMillis(20),
                    () -> Processes.arguments(p.pid()).equals(List.of("sleep", "30")), dir.resolve("sleep.log"), 0);
            String stat = Files.readString(Path.of("/proc", String.valueOf(p.pid()), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields: state, ppid, pgrp, session
            assertThat(Long.parseLong(fields[3])).as("session").isEqualTo(p.pid());
        } finally {
            p.destroyForcibly().waitFor();
        }
    }
}
