package io.diffq.gateway.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.gateway.GatewayProperties;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** Idempotent job ids cannot be computed without the server's secret (issue 11, defect 5). */
@Tag("abuse")
class JobIdsTests {

    private static final String SECRET = "0123456789abcdef0123456789abcdef-one";

    @Test
    void anIdempotentIdIsTheSameForTheSameClientAndKeyAndAVersion8Uuid() {
        JobIds ids = JobIds.withSecret(SECRET);
        String id = ids.idempotent("alice", "order-17");
        assertThat(JobIds.withSecret(SECRET).idempotent("alice", "order-17")).isEqualTo(id);
        UUID uuid = UUID.fromString(id);
        assertThat(uuid.version()).isEqualTo(8);
        assertThat(uuid.variant()).isEqualTo(2);
        assertThat(id).isEqualTo(id.toLowerCase());
    }

    @Test
    void withoutTheSecretTheIdCannotBeComputedFromTheClientAndTheKey() {
        String id = JobIds.withSecret(SECRET).idempotent("alice", "order-17");
        // The id the gateway used to derive, a name-based UUID of what a client knows, is not it any more.
        assertThat(id).isNotEqualTo(UUID.nameUUIDFromBytes("diffq:alice:order-17".getBytes(StandardCharsets.UTF_8))
                .toString());
        assertThat(JobIds.withSecret(SECRET + "-other").idempotent("alice", "order-17")).isNotEqualTo(id);
    }

    @Test
    void clientsAndKeysNeverShareAnId() {
        JobIds ids = JobIds.withSecret(SECRET);
        assertThat(ids.idempotent("bob", "order-17")).isNotEqualTo(ids.idempotent("alice", "order-17"));
        assertThat(ids.idempotent("alice", "order-18")).isNotEqualTo(ids.idempotent("alice", "order-17"));
        // Where the client's name ends is part of the input: "ab" + "c" is not "a" + "bc".
        assertThat(ids.idempotent("ab", "c")).isNotEqualTo(ids.idempotent("a", "bc"));
        assertThat(ids.random()).isNotEqualTo(ids.random());
    }

    @Test
    void theSecretComesFromConfigurationOrAFileAndMustBeLongEnough(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("secret");
        Files.writeString(file, SECRET + "\n");
        String fromFile = new JobIds(properties(Map.of("diffq.gateway.job-id-secret-file", file.toString())))
                .idempotent("alice", "k");
        String inline = new JobIds(properties(Map.of("diffq.gateway.job-id-secret", SECRET))).idempotent("alice", "k");
        assertThat(fromFile).isEqualTo(inline);
        assertThatThrownBy(() -> JobIds.withSecret("too short")).hasMessageContaining("at least 32");
    }

    private static GatewayProperties properties(Map<String, String> settings) {
        return new Binder(new MapConfigurationPropertySource(settings)).bindOrCreate("diffq.gateway",
                GatewayProperties.class);
    }
}
