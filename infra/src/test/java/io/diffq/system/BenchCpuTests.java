package io.diffq.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchCpuTests {

    @Test
    void readsUserPlusSystemTimeAfterACommandNameWithSpacesAndParentheses() {
        String stat = "4242 (java (main) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 30 0 1000 "
                + "0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assertThat(BenchCpu.processMillis(stat)).isEqualTo(3_000);
    }

    @Test
    void theMachineIsBusyExceptIdleAndIowaitAndGuestTimeIsNotCountedTwice() {
        long[] t = BenchCpu.machineTicks("cpu  100 10 40 800 50 0 0 0 7 0\ncpu0 50 5 20 400 25 0 0 0 0 0\n");
        assertThat(t).containsExactly(150, 1000);
    }

    @Test
    void perJobSplitsTheMachinesTimeIntoTheNamedProcessesAndTheRest() {
        BenchCpu.Snapshot before = new BenchCpu.Snapshot(Map.of("broker", 1_000L, "gone", 5L), 0, 0);
        BenchCpu.Snapshot after = new BenchCpu.Snapshot(Map.of("broker", 3_000L, "gone", -1L), 300, 400);
        Map<String, Object> perJob = BenchCpu.perJob(before, after, 100);
        assertThat(perJob).containsEntry("broker", 20.0).doesNotContainKey("gone")
                .containsEntry("other", 10.0).containsEntry("all", 30.0).containsEntry("machineBusyPercent", 75.0);
    }
}
