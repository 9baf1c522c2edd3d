package io.diffq.gateway.webhooks;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

/** The JSON form of a {@link Delivery} on the outbox; a reader ignores fields it does not know. */
final class DeliveryCodec {

    private final JsonMapper mapper = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    byte[] write(Delivery d) {
        return mapper.writeValueAsBytes(d);
    }

    /** The delivery, or {@code null} when the record is not one (it is skipped, never retried). */
    Delivery read(byte[] json) {
        try {
            Delivery d = json == null ? null : mapper.readValue(json, Delivery.class);
            return d == null || d.id() == null || d.url() == null || d.payload() == null || d.firstAttemptAt() == null
                    ? null : d;
        } catch (JacksonException e) {
            return null;
        }
    }
}
