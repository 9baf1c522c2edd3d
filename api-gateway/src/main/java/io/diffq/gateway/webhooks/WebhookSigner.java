package io.diffq.gateway.webhooks;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs deliveries as the Standard Webhooks specification says: {@code v1,} + the base64 HMAC-SHA256, under the
 * base64-decoded key of a {@code whsec_} secret, of {@code <webhook-id>.<webhook-timestamp>.<body>}. With several
 * secrets (a rotation), the signature header carries one signature per secret, space-separated, the first
 * secret's first: a receiver holding any of them verifies.
 */
public final class WebhookSigner {

    private static final String PREFIX = "whsec_";
    private static final String ALGORITHM = "HmacSHA256";

    private final List<byte[]> keys = new ArrayList<>();

    /** @param secrets {@code whsec_} secrets, at least one */
    public WebhookSigner(List<String> secrets) {
        if (secrets.isEmpty()) {
            throw new IllegalArgumentException("at least one webhook secret is needed to sign");
        }
        secrets.forEach(s -> keys.add(decodeSecret(s)));
    }

    /** The value of the {@code webhook-signature} header. */
    public String sign(String id, long timestamp, byte[] body) {
        StringBuilder header = new StringBuilder();
        for (byte[] key : keys) {
            if (!header.isEmpty()) {
                header.append(' ');
            }
            header.append("v1,").append(Base64.getEncoder().encodeToString(hmac(key, id, timestamp, body)));
        }
        return header.toString();
    }

    /** The HMAC-SHA256 of {@code id.timestamp.body} under {@code key}. */
    static byte[] hmac(byte[] key, String id, long timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(new SecretKeySpec(key, ALGORITHM));
            mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JVM has HmacSHA256", e);
        }
    }

    /**
     * The key of a {@code whsec_} secret.
     *
     * @throws IllegalArgumentException (without the secret in its message) when it is not {@code whsec_} + base64
     *                                  of at least 16 bytes
     */
    public static byte[] decodeSecret(String secret) {
        if (secret == null || !secret.startsWith(PREFIX)) {
            throw new IllegalArgumentException("diffq.gateway.webhooks.secrets: each secret must start with whsec_");
        }
        byte[] key;
        try {
            key = Base64.getDecoder().decode(secret.substring(PREFIX.length()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("diffq.gateway.webhooks.secrets: a secret is not whsec_ + base64");
        }
        if (key.length < 16) {
            throw new IllegalArgumentException("diffq.gateway.webhooks.secrets: a secret's key must be 16 bytes or more");
        }
        return key;
    }
}
