package io.diffq.worker.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** The position and the attempt counts a worker commits, job by job. */
class OffsetLedgerTests {

    private static final TopicPartition TP = new TopicPartition("diffq.jobs", 3);

    private final OffsetLedger ledger = new OffsetLedger();

    @Test
    void recordsReadBackFromBeforeATakeOverAreTheEarlierRecordsOfRepeatsWithinTheWindow() {
        OffsetLedger taking = new OffsetLedger(Duration.ofMinutes(2));
        long t = 1_700_000_000_000L;
        long tenMinutes = Duration.ofMinutes(10).toMillis();
        taking.assign(TP, new OffsetAndMetadata(10));
        assertThat(taking.needsEarlierRecords(TP)).isTrue();
        assertThat(taking.committedAtAssignment(TP)).isEqualTo(10);
        taking.rememberEarlier(TP, List.of(new JobLoop.Earlier("a", 3, t), new JobLoop.Earlier("b", 4, t),
                new JobLoop.Earlier("b", 7, t + tenMinutes), new JobLoop.Earlier("late", 12, t)));
        assertThat(taking.needsEarlierRecords(TP)).isFalse();
        assertThat(taking.repeatsEarlierRecord(TP, "a", 10, t + 1_000)).isTrue();
        // b at 7 was a new job (written long after b at 4): b at 11 repeats it.
        assertThat(taking.repeatsEarlierRecord(TP, "b", 11, t + tenMinutes + 1_000)).isTrue();
        // a at 12, an hour on, is a new job, and the one its own repeat at 13 refers to.
        assertThat(taking.repeatsEarlierRecord(TP, "a", 12, t + 6 * tenMinutes)).isFalse();
        assertThat(taking.repeatsEarlierRecord(TP, "a", 13, t + 6 * tenMinutes + 5)).isTrue();
        // Records at or after the committed offset are not taken from the read-back: they come in order.
        assertThat(taking.repeatsEarlierRecord(TP, "late", 14, t + 5)).isFalse();
        assertThat(taking.repeatsEarlierRecord(TP, "c", 15, t)).isFalse();
    }

    @Test
    void aPartitionWithoutACommittedOffsetHasNothingToReadBack() {
        ledger.assign(TP, null);
        assertThat(ledger.needsEarlierRecords(TP)).isFalse();
        ledger.assign(TP, new OffsetAndMetadata(0));
        assertThat(ledger.needsEarlierRecords(TP)).isFalse();
    }

    @Test
    void thePositionFollowsTheFirstUnfinishedJob() {
        ledger.assign(TP, new OffsetAndMetadata(10));
        assertThat(ledger.begin(TP, 10)).isEqualTo(1);
        assertThat(ledger.begin(TP, 11)).isEqualTo(1);
        assertThat(ledger.drainCommits()).containsEntry(TP, new OffsetAndMetadata(10, "diffq:attempts:10=1,11=1"));
        ledger.finished(TP, 11);
        assertThat(ledger.drainCommits()).containsEntry(TP, new OffsetAndMetadata(10, "diffq:attempts:10=1"));
        assertThat(ledger.isDone(TP, 11)).isTrue();
        assertThat(ledger.isDone(TP, 10)).isFalse();
        ledger.finished(TP, 10);
        assertThat(ledger.drainCommits()).containsEntry(TP, new OffsetAndMetadata(12, "diffq:attempts:"));
        assertThat(ledger.drainCommits()).as("nothing changed since").isEmpty();
    }

    @Test
    void offsetsNeedNotBeContiguous() {
        ledger.assign(TP, new OffsetAndMetadata(0));
        ledger.begin(TP, 0);
        ledger.finished(TP, 0);
        ledger.begin(TP, 2); // 1 was a transaction marker
        ledger.finished(TP, 2);
        assertThat(ledger.commitsFor(List.of(TP))).containsEntry(TP, new OffsetAndMetadata(3, "diffq:attempts:"));
    }

    @Test
    void aJobRunAgainIsCountedAgainAndAnUndoneCountIsTakenBack() {
        ledger.assign(TP, null);
        assertThat(ledger.drainCommits()).as("no position known yet").isEmpty();
        assertThat(ledger.begin(TP, 7)).isEqualTo(1);
        assertThat(ledger.begin(TP, 7)).isEqualTo(2);
        ledger.undo(TP, 7);
        assertThat(ledger.drainCommits()).containsEntry(TP, new OffsetAndMetadata(7, "diffq:attempts:7=1"));
        ledger.undo(TP, 7);
        assertThat(ledger.drainCommits()).containsEntry(TP, new OffsetAndMetadata(7, "diffq:attempts:"));
    }

    @Test
    void theCountsOfEveryUnfinishedJobSurviveATakeOver() {
        ledger.assign(TP, new OffsetAndMetadata(5, "diffq:attempts:4=9,5=2,6=1"));
        assertThat(ledger.isDone(TP, 4)).isTrue();
        assertThat(ledger.begin(TP, 5)).isEqualTo(3);
        ledger.finished(TP, 5);
        assertThat(ledger.drainCommits()).containsEntry(TP, new OffsetAndMetadata(6, "diffq:attempts:6=1"));
        assertThat(ledger.begin(TP, 6)).isEqualTo(2);
    }

    @Test
    void metadataItDoesNotKnowCountsNothing() {
        assertThat(OffsetLedger.parse(3, null)).isEmpty();
        assertThat(OffsetLedger.parse(3, "")).isEmpty();
        assertThat(OffsetLedger.parse(3, "someone else's")).isEmpty();
        assertThat(OffsetLedger.parse(3, "diffq:attempt:2@4")).as("an old count for another offset").isEmpty();
        assertThat(OffsetLedger.parse(3, "diffq:attempt:2@3")).isEqualTo(Map.of(3L, 2));
        assertThat(OffsetLedger.parse(3, "diffq:attempts:3=1,x=2,9=4")).isEqualTo(Map.of(3L, 1, 9L, 4));
    }

    @Test
    void aPartitionGivenUpIsForgotten() {
        ledger.assign(TP, new OffsetAndMetadata(1));
        ledger.begin(TP, 1);
        ledger.remove(List.of(TP));
        assertThat(ledger.owns(TP)).isFalse();
        assertThat(ledger.drainCommits()).isEmpty();
        ledger.finished(TP, 1); // a write acknowledged after the partition went
        assertThat(ledger.drainCommits()).isEmpty();
    }
}
