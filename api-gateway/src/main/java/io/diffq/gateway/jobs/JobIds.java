package io.diffq.gateway.jobs;

import io.diffq.gateway.GatewayProperties;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * Job ids. A plain submit gets a random UUID; an idempotent one gets an id derived from the client and its
 * {@code Idempotency-Key} (so a retry names the same job on any gateway instance), as an HMAC-SHA256 under a
 * server secret: nobody can compute another client's job id from its key name and idempotency key. The id
 * is the HMAC's first 128 bits as a version-8 (custom) UUID.
 */
@Component
public class JobIds {

    /** The secret of a gateway with an open API and none configured: development only, and said so. */
    static final String OPEN_API_SECRET = "diffq-open-api-development-job-id-secret";

    static final int MIN_SECRET_LENGTH = 32;

    private static final Logger log = LoggerFactory.getLogger(JobIds.class);
    private static final String HMAC = "HmacSHA256";

    private final SecretKeySpec key;

    @Autowired // the one Spring uses; the other is for withSecret
    public JobIds(GatewayProperties properties) {
        this.key = keyOf(secretOf(properties));
    }

    private JobIds(SecretKeySpec key) {
        this.key = key;
    }

    /** Ids under {@code secret}, at least {@value #MIN_SECRET_LENGTH} characters. */
    static JobIds withSecret(String secret) {
        return new JobIds(keyOf(secret));
    }

    private static SecretKeySpec keyOf(String secret) {
        if (secret.length() < MIN_SECRET_LENGTH) {
            throw new IllegalArgumentException("diffq.gateway.job-id-secret must be at least " + MIN_SECRET_LENGTH
                    + " characters");
        }
        return new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), HMAC);
    }

    /** A new job's id. */
    public String random() {
        return UUID.randomUUID().toString();
    }

    /** The id of the job that {@code client}'s submits with {@code idempotencyKey} name. */
    public String idempotent(String client, String idempotencyKey) {
        byte[] mac;
        try {
            Mac m = Mac.getInstance(HMAC);
            m.init(key);
            // Length-prefixed, so that no two (client, key) pairs give the same input.
            byte[] c = client.getBytes(StandardCharsets.UTF_8);
            byte[] k = idempotencyKey.getBytes(StandardCharsets.UTF_8);
            m.update(ByteBuffer.allocate(4).putInt(c.length).array());
            m.update(c);
            m.update(k);
            mac = m.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available", e);
        }
        ByteBuffer b = ByteBuffer.wrap(mac, 0, 16);
        long high = (b.getLong() & ~0xF000L) | 0x8000L;           // version 8
        long low = (b.getLong() & 0x3FFFFFFFFFFFFFFFL) | Long.MIN_VALUE; // variant 10
        return new UUID(high, low).toString();
    }

    private static String secretOf(GatewayProperties properties) {
        if (properties.jobIdSecret() != null) {
            return properties.jobIdSecret();
        }
        if (properties.jobIdSecretFile() != null) {
            try {
                return Files.readString(Path.of(properties.jobIdSecretFile())).strip();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read diffq.gateway.job-id-secret-file "
                        + properties.jobIdSecretFile(), e);
            }
        }
        log.warn("No diffq.gateway.job-id-secret: idempotent job ids are derived under a built-in development "
                + "secret, so anyone can compute them. Fine with an open API for local development only.");
        return OPEN_API_SECRET;
    }
}
