package io.diffq.gateway.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.model.Pool;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/** The dispatcher's settings as deployments give them: environment variables (infra/k8s, Compose). */
class DispatchPropertiesTests {

    private static DispatchProperties bind(Map<String, Object> env) {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new SystemEnvironmentPropertySource("test-" + StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, env));
        return new Binder(ConfigurationPropertySources.get(environment))
                .bindOrCreate("diffq.gateway.dispatch", DispatchProperties.class);
    }

    @Test
    void poolsDeclaredInTheEnvironmentBindOnePerVariableWithTheirModels() {
        DispatchProperties p = bind(Map.of(
                "DIFFQ_GATEWAY_DISPATCH_ENABLED", "true",
                "DIFFQ_GATEWAY_DISPATCH_POOLS_TINY", "tiny",
                "DIFFQ_GATEWAY_DISPATCH_POOLS_SD", "sdxl,sd"));
        assertThat(p.enabled()).isTrue();
        assertThat(p.declaredPools()).containsExactly(new Pool("sd", List.of("sd", "sdxl")),
                new Pool("tiny", List.of("tiny")));
    }

    @Test
    void aKeysWeightBindsFromItsVariableAndAKeyNotNamedWeighsOne() {
        DispatchProperties p = bind(Map.of("DIFFQ_GATEWAY_DISPATCH_WEIGHTS_INTERACTIVE", "4"));
        assertThat(p.weight("interactive")).isEqualTo(4);
        assertThat(p.weight("batch")).isEqualTo(1);
        assertThatThrownBy(() -> bind(Map.of("DIFFQ_GATEWAY_DISPATCH_WEIGHTS_INTERACTIVE", "0")))
                .hasStackTraceContaining("diffq.gateway.dispatch.weights.interactive");
    }

    @Test
    void theDefaultsAreOffWithNoPool() {
        DispatchProperties p = bind(Map.of());
        assertThat(p.enabled()).isFalse();
        assertThat(p.starvationCredit()).isEqualTo(10);
        assertThat(p.aheadPerDevice()).isEqualTo(1);
        assertThat(p.declaredPools()).isEmpty();
    }

    @Test
    void aBadPoolOrBoundIsRefusedNamingTheSetting() {
        assertThatThrownBy(() -> bind(Map.of("DIFFQ_GATEWAY_DISPATCH_POOLS_TINY", "tiny,tiny")))
                .hasStackTraceContaining("diffq.gateway.dispatch.pools.tiny");
        assertThatThrownBy(() -> bind(Map.of("DIFFQ_GATEWAY_DISPATCH_STARVATION_CREDIT", "0")))
                .hasStackTraceContaining("starvation-credit");
        assertThatThrownBy(() -> bind(Map.of("DIFFQ_GATEWAY_DISPATCH_LEASE_SESSION", "2s")))
                .hasStackTraceContaining("lease-session");
    }
}
