package io.diffq.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** The nemesis's plan replays from its seed and keeps its promises: a fault every 10 s, one broker out at a time. */
class FaultScheduleTests {

    private static final long THREE_MINUTES = 180_000;

    @Test
    void theSameSeedDrawsTheSameScheduleAndAnotherSeedAnother() {
        assertThat(FaultSchedule.draw(7, THREE_MINUTES)).isEqualTo(FaultSchedule.draw(7, THREE_MINUTES))
                .isNotEqualTo(FaultSchedule.draw(8, THREE_MINUTES));
    }

    @Test
    void everySeedInjectsAFaultAtLeastEvery10Seconds() {
        LongStream.rangeClosed(1, 200).forEach(seed -> {
            List<Fault> plan = FaultSchedule.draw(seed, THREE_MINUTES);
            assertThat(plan.get(0).atMs()).isLessThanOrEqualTo(10_000);
            for (int i = 1; i < plan.size(); i++) {
                assertThat(plan.get(i).atMs() - plan.get(i - 1).atMs()).as("seed %d, fault %d", seed, i)
                        .isLessThanOrEqualTo(10_000);
            }
        });
    }

    @Test
    void pausesLast1To20SecondsAndEveryKindAndRoleIsDrawn() {
        List<Fault> all = LongStream.rangeClosed(1, 20).boxed()
                .flatMap(seed -> FaultSchedule.draw(seed, THREE_MINUTES).stream()).toList();
        assertThat(all).filteredOn(f -> f.kind() == Fault.Kind.PAUSE)
                .allSatisfy(f -> assertThat(f.durationMs()).isBetween(1_000L, 20_000L));
        assertThat(all).extracting(Fault::kind).contains(Fault.Kind.values());
        assertThat(all).extracting(Fault::role).contains("broker", "gateway", "worker");
    }

    @Test
    void neverPlansASecondBrokerFaultWhileOneIsOut() {
        LongStream.rangeClosed(1, 200).forEach(seed -> {
            List<Fault> brokers = FaultSchedule.draw(seed, THREE_MINUTES).stream()
                    .filter(f -> f.role().equals("broker")).toList();
            for (int i = 1; i < brokers.size(); i++) {
                Fault before = brokers.get(i - 1);
                // A pause is out for its length; a kill or restart until the broker is back (planned at 15 s).
                long back = before.atMs() + before.durationMs() + (before.kind() == Fault.Kind.PAUSE ? 0 : 15_000);
                assertThat(brokers.get(i).atMs()).as("seed %d: %s after %s", seed, brokers.get(i), before)
                        .isGreaterThanOrEqualTo(back);
            }
        });
    }
}
