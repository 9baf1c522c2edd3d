package io.diffq.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.gateway.status.EventVerdicts.Verdict;
import org.junit.jupiter.api.Test;

class EventVerdictsTests {

    @Test
    void aRecordIsJudgedOnlyFromWhereThisInstanceBeganToReadItsPartition() {
        EventVerdicts verdicts = new EventVerdicts();
        verdicts.read(0, 100, true);
        verdicts.read(0, 101, false);
        verdicts.read(0, 102, true);

        assertThat(verdicts.of(0, 99)).isEqualTo(Verdict.UNKNOWN);
        assertThat(verdicts.of(0, 100)).isEqualTo(Verdict.ACCEPTED);
        assertThat(verdicts.of(0, 101)).isEqualTo(Verdict.REFUSED);
        assertThat(verdicts.of(0, 102)).isEqualTo(Verdict.ACCEPTED);
        assertThat(verdicts.of(1, 101)).as("a partition not read").isEqualTo(Verdict.UNKNOWN);
    }

    @Test
    void aRecordReadAgainFromEarlierWidensWhatIsKnown() {
        EventVerdicts verdicts = new EventVerdicts();
        verdicts.read(3, 50, false);
        verdicts.read(3, 10, true);

        assertThat(verdicts.of(3, 10)).isEqualTo(Verdict.ACCEPTED);
        assertThat(verdicts.of(3, 50)).isEqualTo(Verdict.REFUSED);
    }

    @Test
    void refusalsPastWhatIsKeptMakeTheirStretchUnknownNotAccepted() {
        EventVerdicts verdicts = new EventVerdicts();
        verdicts.read(0, 0, true);
        for (long o = 1; o <= EventVerdicts.KEPT + 2; o++) {
            verdicts.read(0, o * 2, false);
        }

        assertThat(verdicts.of(0, 0)).isEqualTo(Verdict.UNKNOWN);
        assertThat(verdicts.of(0, 2)).as("the oldest refusal, forgotten").isEqualTo(Verdict.UNKNOWN);
        assertThat(verdicts.of(0, 4)).as("the next, forgotten too").isEqualTo(Verdict.UNKNOWN);
        assertThat(verdicts.of(0, 5)).isEqualTo(Verdict.ACCEPTED);
        assertThat(verdicts.of(0, 6)).isEqualTo(Verdict.REFUSED);
        assertThat(verdicts.of(0, (EventVerdicts.KEPT + 2) * 2L)).isEqualTo(Verdict.REFUSED);
    }
}
