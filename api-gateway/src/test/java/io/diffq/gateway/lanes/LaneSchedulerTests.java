package io.diffq.gateway.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.job.Priority;
import io.diffq.common.model.Pool;
import io.diffq.gateway.lanes.LaneScheduler.Job;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The release order of {@link LaneScheduler}: priorities with starvation credits, fair turns between keys, routing. */
class LaneSchedulerTests {

    private static final Pool TINY = new Pool("tiny-pool", List.of("tiny"));
    private static final int CREDIT = 10;

    private final LaneScheduler scheduler = new LaneScheduler(CREDIT, model -> 1.0, key -> 1.0);
    private int ids;

    private Job add(String key, Priority priority) {
        return add(scheduler, "tiny", key, priority);
    }

    private Job add(LaneScheduler s, String model, String key, Priority priority) {
        Job job = new Job("job-" + ids++, model, key, priority);
        s.add(job);
        return job;
    }

    private static List<Job> drain(LaneScheduler s, Pool pool, int n) {
        List<Job> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            s.next(pool).ifPresent(out::add);
        }
        return out;
    }

    @Test
    void aHighJobBehind300NormalOnesIsTheNextReleased() {
        for (int i = 0; i < 300; i++) {
            add("alice", Priority.NORMAL);
        }
        Job high = add("alice", Priority.HIGH);

        assertThat(scheduler.next(TINY)).contains(high);
        assertThat(scheduler.waiting()).isEqualTo(300);
    }

    /** 1 low job, then 300 normal ones: the low job is passed over 10 times and goes 11th. */
    @Test
    void aLowJobSubmittedFirstRunsAfterStarvationCreditReleasesNotAfterTheFlood() {
        Job low = add("alice", Priority.LOW);
        for (int i = 0; i < 300; i++) {
            add("alice", Priority.NORMAL);
        }

        List<Job> released = drain(scheduler, TINY, 301);

        assertThat(released.indexOf(low)).isEqualTo(CREDIT);
        assertThat(released).hasSize(301).doesNotHaveDuplicates();
        assertThat(released.subList(0, CREDIT)).allMatch(j -> j.priority() == Priority.NORMAL);
    }

    /** Credits are earned by a waiting job: a low job that left (canceled) leaves none to the next low job. */
    @Test
    void aClassThatEmptiedStartsItsCreditsAgain() {
        Job canceled = add("alice", Priority.LOW);
        for (int i = 0; i < 100; i++) {
            add("alice", Priority.NORMAL);
        }
        drain(scheduler, TINY, CREDIT - 1);
        scheduler.remove(canceled.id());
        scheduler.next(TINY);
        Job low = add("bob", Priority.LOW);

        List<Job> released = drain(scheduler, TINY, CREDIT + 1);

        assertThat(released.indexOf(low)).isEqualTo(CREDIT);
    }

    /** Both lower classes waiting under a flood of high jobs: normal's credit falls due first, low's right after. */
    @Test
    void whenTwoClassesFallDueTogetherTheMoreUrgentGoesFirst() {
        Job low = add("alice", Priority.LOW);
        Job normal = add("alice", Priority.NORMAL);
        for (int i = 0; i < 100; i++) {
            add("alice", Priority.HIGH);
        }

        List<Job> released = drain(scheduler, TINY, 102);

        assertThat(released.indexOf(normal)).isEqualTo(CREDIT);
        assertThat(released.indexOf(low)).isEqualTo(CREDIT + 1);
    }

    /**
     * A seeded random mix of adds and releases (seeds 1–100): a less urgent class is released while a more urgent
     * one waits only when its credit fell due, that is after exactly {@value #CREDIT} releases passed it over; and
     * every job added is released once.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100})
    void aLowerClassGoesFirstOnlyOnACredit(int seed) {
        Random random = new Random(seed);
        LaneScheduler s = new LaneScheduler(CREDIT, model -> 1.0, key -> 1.0);
        Map<Priority, Integer> waiting = new EnumMap<>(Priority.class);
        Map<Priority, Integer> passedOver = new EnumMap<>(Priority.class);
        int added = 0;
        List<String> released = new ArrayList<>();
        for (int step = 0; step < 3000; step++) {
            if (random.nextInt(100) < 55) {
                Priority p = Priority.values()[random.nextInt(3)];
                add(s, "tiny", "key-" + random.nextInt(4), p);
                waiting.merge(p, 1, Integer::sum);
                added++;
                continue;
            }
            Optional<Job> next = s.next(TINY);
            if (waiting.values().stream().allMatch(n -> n == 0)) {
                assertThat(next).isEmpty();
                continue;
            }
            Priority got = next.orElseThrow().priority();
            released.add(next.get().id());
            Priority top = List.of(Priority.values()).stream().filter(p -> waiting.getOrDefault(p, 0) > 0)
                    .findFirst().orElseThrow();
            if (got != top) {
                assertThat(top.isAbove(got)).isTrue();
                assertThat(passedOver.getOrDefault(got, 0)).as("seed %d step %d: %s released before %s without a credit",
                        seed, step, got, top).isGreaterThanOrEqualTo(CREDIT);
            }
            passedOver.remove(got);
            for (Priority p : Priority.values()) {
                if (p != got && p != top && waiting.getOrDefault(p, 0) > 0) {
                    passedOver.merge(p, 1, Integer::sum);
                } else if (waiting.getOrDefault(p, 0) == 0) {
                    passedOver.remove(p);
                }
            }
            waiting.merge(got, -1, Integer::sum);
            if (waiting.get(got) == 0) {
                passedOver.remove(got);
            }
        }
        released.addAll(drain(s, TINY, added).stream().map(Job::id).toList());
        assertThat(released).hasSize(added).doesNotHaveDuplicates();
    }

    /** Key A has 500 jobs waiting; B–E submit one each afterwards: each goes within one turn, not after A's 500. */
    @Test
    void oneKeysBacklogDelaysAnotherKeysJobByAtMostOneJobPerKey() {
        List<Job> a = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            a.add(add("A", Priority.NORMAL));
        }
        List<Job> others = List.of(add("B", Priority.NORMAL), add("C", Priority.NORMAL), add("D", Priority.NORMAL),
                add("E", Priority.NORMAL));

        List<Job> released = drain(scheduler, TINY, 504);

        assertThat(released.subList(0, 5)).containsAll(others);
        assertThat(released.stream().filter(j -> j.key().equals("A")).toList()).as("A's jobs, all, in order")
                .isEqualTo(a);
        assertThat(scheduler.next(TINY)).isEmpty();
    }

    /**
     * A model whose jobs cost four times as much: per turn its key gets one job, the cheap model's key four (DRR by
     * device time, so each key gets about the same GPU time), and the weights of keys scale that.
     */
    @Test
    void turnsShareDeviceTimeNotJobCountAndFollowKeyWeights() {
        Map<String, Double> costs = Map.of("sdxl", 4.0, "tiny", 1.0);
        LaneScheduler s = new LaneScheduler(CREDIT, costs::get, key -> 1.0);
        Map<String, Long> first50 = releasedPerKey(s, new Pool("both", List.of("sdxl", "tiny")), 50,
                "sdxl", "big", "tiny", "small");
        assertThat(first50.get("small")).isEqualTo(40);
        assertThat(first50.get("big")).isEqualTo(10);

        LaneScheduler weighted = new LaneScheduler(CREDIT, model -> 1.0,
                key -> key.equals("heavy-user") ? 2.0 : 1.0);
        Map<String, Long> first30 = releasedPerKey(weighted, TINY, 30,
                "tiny", "heavy-user", "tiny", "light-user");
        assertThat(first30.get("heavy-user")).isEqualTo(20);
        assertThat(first30.get("light-user")).isEqualTo(10);
    }

    /** 100 jobs each of two (model, key) pairs, added alternately; how many of the first {@code n} each key got. */
    private Map<String, Long> releasedPerKey(LaneScheduler s, Pool pool, int n, String model1, String key1,
            String model2, String key2) {
        for (int i = 0; i < 100; i++) {
            add(s, model1, key1, Priority.NORMAL);
            add(s, model2, key2, Priority.NORMAL);
        }
        return drain(s, pool, n).stream().collect(Collectors.groupingBy(Job::key, Collectors.counting()));
    }

    /** A pool gets only jobs of its models; a job no pool serves waits (it does not fail) until one asks for it. */
    @Test
    void aPoolIsReleasedOnlyJobsOfItsModels() {
        LaneScheduler s = new LaneScheduler(CREDIT, model -> 1.0, key -> 1.0);
        Pool simulated = new Pool("sim-pool", List.of("simulated"));
        Job tiny = add(s, "tiny", "alice", Priority.HIGH);
        Job sim = add(s, "simulated", "alice", Priority.LOW);
        Job sdxl = add(s, "sdxl", "bob", Priority.HIGH);

        assertThat(s.next(simulated)).contains(sim);
        assertThat(s.next(simulated)).isEmpty();
        assertThat(s.next(TINY)).contains(tiny);
        assertThat(s.next(TINY)).isEmpty();
        assertThat(s.waiting()).isEqualTo(1);
        assertThat(s.next(new Pool("sdxl-pool", List.of("sdxl")))).contains(sdxl);
    }

    @Test
    void aRemovedJobIsNeverReleasedAndAJobAddedTwiceIsKeptOnce() {
        Job first = add("alice", Priority.NORMAL);
        Job second = add("alice", Priority.NORMAL);
        scheduler.add(first);

        assertThat(scheduler.waiting()).isEqualTo(2);
        assertThat(scheduler.remove(first.id())).isTrue();
        assertThat(scheduler.remove(first.id())).isFalse();
        assertThat(drain(scheduler, TINY, 3)).containsExactly(second);
    }

    @Test
    void aStarvationCreditBelowOneIsRefused() {
        assertThatThrownBy(() -> new LaneScheduler(0, model -> 1.0, key -> 1.0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("starvation-credit");
    }
}
