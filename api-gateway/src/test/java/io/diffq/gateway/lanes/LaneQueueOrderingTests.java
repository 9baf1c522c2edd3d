package io.diffq.gateway.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobStatus;
import io.diffq.common.job.Priority;
import io.diffq.common.model.Pool;
import io.diffq.gateway.lanes.LaneScheduler.Job;
import io.diffq.gateway.queue.BacklogProperties;
import io.diffq.gateway.status.FleetStats;
import io.diffq.gateway.status.QueueOrdering;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Queue positions with lanes: what a client polling a waiting job reads as {@code queue.position} follows the
 * dispatcher's order (priorities, fair turns between keys, the pools that serve the model), not the log's.
 */
class LaneQueueOrderingTests {

    private static final int CREDIT = 3;
    private static final Pool TINY = new Pool("tiny-pool", List.of("tiny"));
    private static final Pool SIM = new Pool("sim-pool", List.of("simulated"));

    private final LaneQueueOrdering ordering = new LaneQueueOrdering(
            new DispatchProperties(true, CREDIT, 1, Duration.ofSeconds(10), Map.of(), Map.of("heavy", 3)), null, null,
            new FleetStats(Clock.systemUTC(), new SimpleMeterRegistry()),
            new BacklogProperties(Duration.ofSeconds(5), Map.of()));
    private final List<Job> waiting = new ArrayList<>();
    private int ids;

    private Job add(String model, String key, Priority priority) {
        Job job = new Job("job-" + ids++, model, key, priority);
        waiting.add(job);
        return job;
    }

    private static long ahead(QueueOrdering.Snapshot snapshot, Job job) {
        return snapshot.ahead(status(job)).orElseThrow();
    }

    private static JobStatus status(Job job) {
        return JobStatus.queued(new JobRequest(job.id(), "a red circle", "", 32, 32, 4, 7.5, 42, job.model(), null,
                Instant.EPOCH, null, null, job.key(), null, job.priority()));
    }

    @Test
    void aHighJobCountsOnlyWhatReallyGoesBeforeIt() {
        List<Job> normal = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            normal.add(add("tiny", "bulk", Priority.NORMAL));
        }
        Job high = add("tiny", "bulk", Priority.HIGH);

        QueueOrdering.Snapshot snapshot = ordering.snapshot(List.of(TINY), waiting, Map.of());

        assertThat(ahead(snapshot, high)).isZero();
        // The normal ones keep their order, each one place further back for the high job before them.
        assertThat(ahead(snapshot, normal.get(0))).isEqualTo(1);
        assertThat(ahead(snapshot, normal.get(299))).isEqualTo(300);
    }

    @Test
    void aLowJobSubmittedFirstIsCountedByItsStarvationCreditNotBehindEveryNormalOne() {
        Job low = add("tiny", "bulk", Priority.LOW);
        for (int i = 0; i < 300; i++) {
            add("tiny", "bulk", Priority.NORMAL);
        }

        // Passed over CREDIT times, it goes next.
        assertThat(ahead(ordering.snapshot(List.of(TINY), waiting, Map.of()), low)).isEqualTo(CREDIT);
    }

    @Test
    void anotherKeysJobIsNotCountedBehindADeepBacklog() {
        for (int i = 0; i < 500; i++) {
            add("tiny", "key-a", Priority.NORMAL);
        }
        List<Job> others = List.of(add("tiny", "key-b", Priority.NORMAL), add("tiny", "key-c", Priority.NORMAL),
                add("tiny", "key-d", Priority.NORMAL), add("tiny", "key-e", Priority.NORMAL));

        QueueOrdering.Snapshot snapshot = ordering.snapshot(List.of(TINY), waiting, Map.of());

        // A's first job, then one job per key a turn.
        for (Job job : others) {
            assertThat(ahead(snapshot, job)).as(job.key()).isLessThanOrEqualTo(others.size());
        }
        assertThat(ahead(snapshot, waiting.get(499))).isEqualTo(503);
    }

    @Test
    void aKeyOfWeightThreeIsCountedThreeJobsATurnToTheOthersOne() {
        List<Job> light = new ArrayList<>();
        List<Job> heavy = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            light.add(add("tiny", "light", Priority.NORMAL));
            heavy.add(add("tiny", "heavy", Priority.NORMAL));
        }

        QueueOrdering.Snapshot snapshot = ordering.snapshot(List.of(TINY), waiting, Map.of());

        // Turns: light 1, heavy 3, light 1, heavy 3, ...: the 10th heavy job comes after 4 light ones and 9 heavy
        // ones, the 10th light one after 9 light ones and 9 heavy turns of 3.
        assertThat(ahead(snapshot, heavy.get(9))).isEqualTo(4 + 9);
        assertThat(ahead(snapshot, light.get(9))).isEqualTo(9 + 27);
    }

    @Test
    void onlyJobsOfThePoolsServingItsModelAreAhead() {
        for (int i = 0; i < 50; i++) {
            add("simulated", "k", Priority.NORMAL);
        }
        Job tiny = add("tiny", "k", Priority.NORMAL);
        Job nextTiny = add("tiny", "k", Priority.NORMAL);
        // A pool serving both models shares its devices between them: their jobs drain what is ahead.
        Pool both = new Pool("both", List.of("simulated", "tiny"));

        QueueOrdering.Snapshot split = ordering.snapshot(List.of(SIM, TINY), waiting, Map.of());
        assertThat(ahead(split, tiny)).isZero();
        assertThat(ahead(split, nextTiny)).isEqualTo(1);
        assertThat(split.sharing("tiny")).containsExactly("tiny");

        QueueOrdering.Snapshot shared = ordering.snapshot(List.of(both), waiting, Map.of());
        assertThat(ahead(shared, tiny)).isEqualTo(50);
        assertThat(shared.sharing("tiny")).containsExactlyInAnyOrder("simulated", "tiny");
    }

    @Test
    void aJobNoPoolServesIsCountedBehindItsOwnModelsJobsOnly() {
        for (int i = 0; i < 20; i++) {
            add("tiny", "k", Priority.NORMAL);
        }
        Job sd = add("sd", "k", Priority.NORMAL);
        Job sdHigh = add("sd", "k", Priority.HIGH);
        Job sdLater = add("sd", "k", Priority.NORMAL);

        QueueOrdering.Snapshot snapshot = ordering.snapshot(List.of(TINY), waiting, Map.of());

        assertThat(ahead(snapshot, sdHigh)).isZero();
        assertThat(ahead(snapshot, sd)).isEqualTo(1);
        assertThat(ahead(snapshot, sdLater)).isEqualTo(2);
    }

    @Test
    void aJobNewerThanTheSnapshotIsCountedBehindWhatIsAsUrgentAsItOrMore() {
        for (int i = 0; i < 10; i++) {
            add("tiny", "k", Priority.NORMAL);
        }
        add("tiny", "k", Priority.HIGH);
        add("simulated", "k", Priority.HIGH);
        QueueOrdering.Snapshot snapshot = ordering.snapshot(List.of(TINY, SIM), waiting, Map.of());

        assertThat(ahead(snapshot, new Job("new-high", "tiny", "k", Priority.HIGH))).isEqualTo(1);
        assertThat(ahead(snapshot, new Job("new-normal", "tiny", "k", Priority.NORMAL))).isEqualTo(11);
        assertThat(ahead(snapshot, new Job("new-low", "tiny", "k", Priority.LOW))).isEqualTo(11);
    }

    @Test
    void pastTheSimulatedReleasesJobsAreCountedInPriorityThenAcceptanceOrder() {
        int n = LaneQueueOrdering.SIMULATED + 5;
        for (int i = 0; i < n; i++) {
            add("tiny", "k", Priority.NORMAL);
        }
        Job lateHigh = add("tiny", "k", Priority.HIGH);
        Job lateNormal = add("tiny", "k", Priority.NORMAL);

        QueueOrdering.Snapshot snapshot = ordering.snapshot(List.of(TINY), waiting, Map.of());

        assertThat(ahead(snapshot, lateHigh)).isZero();
        assertThat(ahead(snapshot, waiting.get(n - 1))).isEqualTo(n);
        assertThat(ahead(snapshot, lateNormal)).isEqualTo(n + 1);
    }

    /**
     * With one pool, equal costs and weights, and nothing arriving, the positions are exact: they are the places at
     * which the dispatcher's scheduler, fed the same jobs, releases them. Seeded mixes of keys and priorities.
     */
    @Test
    void onOnePoolThePositionsAreTheSchedulersReleaseOrderForSeededMixes() {
        for (long seed = 1; seed <= 200; seed++) {
            Random random = new Random(seed);
            waiting.clear();
            int jobs = 1 + random.nextInt(60);
            for (int i = 0; i < jobs; i++) {
                add("tiny", "key-" + random.nextInt(4), Priority.values()[random.nextInt(3)]);
            }
            LaneScheduler dispatcher = new LaneScheduler(CREDIT, model -> 1.0, key -> 1.0);
            waiting.forEach(dispatcher::add);
            List<String> released = new ArrayList<>();
            for (Optional<Job> next = dispatcher.next(TINY); next.isPresent(); next = dispatcher.next(TINY)) {
                released.add(next.get().id());
            }

            QueueOrdering.Snapshot snapshot = ordering.snapshot(List.of(TINY), waiting, Map.of());

            for (Job job : waiting) {
                assertThat(ahead(snapshot, job)).as("seed %d, %s", seed, job).isEqualTo(released.indexOf(job.id()));
            }
            assertThat(Set.copyOf(released)).hasSize(jobs);
        }
    }
}
