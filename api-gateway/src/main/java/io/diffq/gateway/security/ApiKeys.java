package io.diffq.gateway.security;

import io.diffq.common.job.Priority;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The configured API keys, held only as SHA-256 digests. A presented key is hashed and compared with every
 * digest in constant time, so neither the timing nor the memory of the gateway reveals a key.
 */
final class ApiKeys {

    private record Entry(String name, byte[] digest, boolean admin, int maxWaiting, Priority maxPriority) {
    }

    private final List<Entry> entries;

    ApiKeys(List<SecurityProperties.ApiKey> keys) {
        this.entries = keys.stream()
                .map(k -> new Entry(k.name(), k.keySha256() != null
                        ? HexFormat.of().parseHex(k.keySha256().toLowerCase(Locale.ROOT))
                        : sha256(k.key()), k.admin(), k.maxWaiting(), k.maxPriority()))
                .toList();
    }

    /** Whether any key is configured; without one the API is open. */
    boolean required() {
        return !entries.isEmpty();
    }

    int size() {
        return entries.size();
    }

    List<String> names() {
        return entries.stream().map(Entry::name).toList();
    }

    /** The name of the key {@code presented}, or empty when it is none of them. */
    Optional<String> authenticate(String presented) {
        if (presented == null || presented.isEmpty()) {
            return Optional.empty();
        }
        byte[] digest = sha256(presented);
        String match = null;
        // No early exit: every digest is compared, whatever matches.
        for (Entry e : entries) {
            if (MessageDigest.isEqual(e.digest(), digest) && match == null) {
                match = e.name();
            }
        }
        return Optional.ofNullable(match);
    }

    /** Whether the key named {@code name} has the {@code admin} role. */
    boolean admin(String name) {
        return entry(name).map(Entry::admin).orElse(false);
    }

    /** The most jobs the key named {@code name} may have waiting; 0 for no limit. */
    int maxWaiting(String name) {
        return entry(name).map(Entry::maxWaiting).orElse(0);
    }

    /** The most urgent priority the key named {@code name} may ask for. */
    Priority maxPriority(String name) {
        return entry(name).map(Entry::maxPriority).orElse(Priority.NORMAL);
    }

    private Optional<Entry> entry(String name) {
        return entries.stream().filter(e -> e.name().equals(name)).findFirst();
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
