package io.diffq.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code diffq.jobs} has its own partition count ({@code diffq.topics.job-partitions}): the workers' share group
 * shares its partitions, so they bound head-of-line waiting, not the workers. The other per-job topics keep
 * {@code diffq.topics.partitions}; the single-partition topics stay at one.
 */
class TopicSpecTests {

    private static Map<String, Integer> partitions(List<TopicSpec> specs) {
        return specs.stream().collect(Collectors.toMap(TopicSpec::name, TopicSpec::partitions));
    }

    @Test
    void jobsHasTheJobPartitionsAndTheOtherPerJobTopicsThePartitions() {
        assertThat(partitions(TopicSpec.all(1, 12, Duration.ofHours(24)))).containsExactlyInAnyOrderEntriesOf(Map.of(
                Topics.JOBS, 1,
                Topics.JOB_EVENTS, 12,
                Topics.RESULTS, 12,
                Topics.WEBHOOKS, 12,
                Topics.JOB_CONTROLS, 1,
                Topics.JOBS_DLT, 1,
                Topics.MODELS, 1,
                Topics.POOLS, 1,
                Topics.DISPATCH, 1));
    }

    @Test
    void theCountsAreIndependentEitherWay() {
        Map<String, Integer> counts = partitions(TopicSpec.all(6, 3, Duration.ofHours(24)));
        assertThat(counts).containsEntry(Topics.JOBS, 6)
                .containsEntry(Topics.JOB_EVENTS, 3)
                .containsEntry(Topics.RESULTS, 3)
                .containsEntry(Topics.WEBHOOKS, 3)
                .containsEntry(Topics.JOB_CONTROLS, 1)
                .containsEntry(Topics.JOBS_DLT, 1)
                .containsEntry(Topics.MODELS, 1)
                .containsEntry(Topics.POOLS, 1)
                .containsEntry(Topics.DISPATCH, 1);
    }

    @Test
    void theTwoArgumentFormGivesJobsThePartitionsToo() {
        assertThat(TopicSpec.all(4, Duration.ofHours(24))).isEqualTo(TopicSpec.all(4, 4, Duration.ofHours(24)));
    }

    @Test
    void theConfigsDoNotDependOnThePartitions() {
        Map<String, Map<String, String>> a = TopicSpec.all(1, 12, Duration.ofHours(24)).stream()
                .collect(Collectors.toMap(TopicSpec::name, TopicSpec::configs));
        Map<String, Map<String, String>> b = TopicSpec.all(12, 12, Duration.ofHours(24)).stream()
                .collect(Collectors.toMap(TopicSpec::name, TopicSpec::configs));
        assertThat(a).isEqualTo(b);
    }

    @Test
    void countsBelowOneAreRefused() {
        assertThatThrownBy(() -> TopicSpec.all(0, 12, Duration.ofHours(24)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("job partitions");
        assertThatThrownBy(() -> TopicSpec.all(1, 0, Duration.ofHours(24)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("partitions must be at least 1");
        assertThatThrownBy(() -> TopicSpec.all(-1, Duration.ofHours(24)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aLaneHasOnePartitionAndKeepsRequestsAsLongAsDiffqJobs() {
        TopicSpec jobs = TopicSpec.all(3, Duration.ofHours(24)).get(0);
        TopicSpec lane = TopicSpec.lane("simulated.tiny", Duration.ofHours(24));
        assertThat(lane.name()).isEqualTo("diffq.lane.simulated.tiny");
        assertThat(lane.partitions()).isEqualTo(1);
        assertThat(lane.configs()).isEqualTo(jobs.configs());
        assertThat(TopicSpec.lane("p", Duration.ofDays(30)).configs())
                .containsEntry("retention.ms", String.valueOf(Duration.ofDays(30).toMillis()));
    }
}
