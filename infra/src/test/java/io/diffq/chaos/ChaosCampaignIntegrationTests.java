package io.diffq.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short fault campaign in the suite: one fixed seed, 70 s of seeded load while the nemesis kills, pauses and
 * restarts brokers, gateways and workers (real processes), then the checker over the whole history and the topics
 * finds no violation. The long form is {@code infra/chaos/campaign} (docs/testing.md, "Fault campaign").
 */
class ChaosCampaignIntegrationTests {

    /** Its 70 s schedule holds every kind of fault on every kind of process (see {@code campaign --plan --seed 7}). */
    private static final long SEED = 7;

    @Test
    void aSeededCampaignOfKillsPausesAndRestartsKeepsEveryPromise(@TempDir Path dir) throws Exception {
        CampaignReport report = Campaign.run(new Campaign.Settings(SEED, Duration.ofSeconds(70), 6,
                Duration.ofSeconds(120), dir));
        System.out.println(report.summary());

        assertThat(report.violations()).as("violations of seed %d", SEED).isEmpty();
        assertThat(report.faultsByKind()).as("faults by kind").containsKeys("kill", "pause", "restart");
        assertThat(report.faultsByRole()).as("faults by role").containsKeys("broker", "gateway", "worker");
        assertThat(report.accepted()).as("jobs accepted").isGreaterThan(50);
        assertThat(report.finished()).as("accepted jobs finished").isEqualTo(report.accepted());
    }
}
