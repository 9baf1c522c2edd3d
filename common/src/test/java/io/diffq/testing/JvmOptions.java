package io.diffq.testing;

import java.util.List;

/**
 * JVM options a benchmark adds to a service it starts, from an environment variable split at spaces:
 * {@code BENCH_GATEWAY_JVM_ARGS}, {@code BENCH_WORKER_JVM_ARGS}, {@code BENCH_BROKER_JVM_ARGS}. E.g. a flight
 * recording ({@code -XX:StartFlightRecording=filename=/tmp/gw.jfr,settings=profile}), or the JIT a service has
 * when deployed ({@code -XX:TieredStopAtLevel=4}: later options win over the tests' C1-only default).
 */
public final class JvmOptions {

    private JvmOptions() {
    }

    /** The options in {@code variable}, none when it is unset or blank. */
    public static List<String> fromEnvironment(String variable) {
        String value = System.getenv(variable);
        return value == null || value.isBlank() ? List.of() : List.of(value.trim().split("\\s+"));
    }
}
