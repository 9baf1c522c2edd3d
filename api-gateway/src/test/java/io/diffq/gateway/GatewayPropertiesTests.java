package io.diffq.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

class GatewayPropertiesTests {

    @Test
    void theStatusViewReadsAtMostEvery5msUnderLoadUnlessSetFrom0To1s() {
        assertThat(bind(Map.of()).statusReadInterval()).isEqualTo(Duration.ofMillis(5));
        assertThat(bind(Map.of("diffq.gateway.status-read-interval", "0")).statusReadInterval()).isZero();
        assertThat(bind(Map.of("diffq.gateway.status-read-interval", "1s")).statusReadInterval())
                .isEqualTo(Duration.ofSeconds(1));
        assertThatThrownBy(() -> bind(Map.of("diffq.gateway.status-read-interval", "1001ms")))
                .hasRootCauseMessage("diffq.gateway.status-read-interval PT1.001S is outside 0 to PT1S");
        assertThatThrownBy(() -> bind(Map.of("diffq.gateway.status-read-interval", "-1ms")))
                .hasRootCauseMessage("diffq.gateway.status-read-interval PT-0.001S is outside 0 to PT1S");
    }

    private static GatewayProperties bind(Map<String, String> settings) {
        return new Binder(new MapConfigurationPropertySource(settings)).bindOrCreate("diffq.gateway",
                GatewayProperties.class);
    }
}
