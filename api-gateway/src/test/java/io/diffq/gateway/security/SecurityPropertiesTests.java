package io.diffq.gateway.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SecurityPropertiesTests {

    private static final String KEY = "a-key-of-sixteen-or-more";

    @Test
    void aKeyMayHaveAThousandJobsWaitingUnlessItsConfigurationSaysOtherwise() {
        assertThat(new SecurityProperties.ApiKey("a", KEY, null).maxWaiting()).isEqualTo(1000);
        assertThat(new SecurityProperties.ApiKey("a", KEY, null, "user", 0).maxWaiting()).as("no limit").isZero();
        assertThat(new ApiKeys(java.util.List.of(new SecurityProperties.ApiKey("a", KEY, null, "user", 7)))
                .maxWaiting("a")).isEqualTo(7);
        assertThatThrownBy(() -> new SecurityProperties.ApiKey("a", KEY, null, "user", -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("api key 'a': max-waiting must be 0 (no limit) or more, not -1");
    }
}
