package io.diffq.common.json;

import io.diffq.common.job.JobControl;
import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobFailure;
import io.diffq.common.job.JobRequest;
import io.diffq.common.model.ModelCard;
import io.diffq.common.model.Pool;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The JSON form of the records on the topics. Readers ignore fields they do not know, so a newer writer
 * can add fields without breaking an older reader.
 */
public final class JobCodec {

    private final JsonMapper mapper = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    public byte[] writeRequest(JobRequest request) {
        return mapper.writeValueAsBytes(request);
    }

    public JobRequest readRequest(byte[] json) {
        return read(json, JobRequest.class);
    }

    public byte[] writeEvent(JobEvent event) {
        return mapper.writeValueAsBytes(event);
    }

    public JobEvent readEvent(byte[] json) {
        return read(json, JobEvent.class);
    }

    public byte[] writeControl(JobControl control) {
        return mapper.writeValueAsBytes(control);
    }

    public JobControl readControl(byte[] json) {
        return read(json, JobControl.class);
    }

    public byte[] writeFailure(JobFailure failure) {
        return mapper.writeValueAsBytes(failure);
    }

    public JobFailure readFailure(byte[] json) {
        return read(json, JobFailure.class);
    }

    public byte[] writeModelCard(ModelCard card) {
        return mapper.writeValueAsBytes(card);
    }

    /** Reads a card; one that breaks a card's rules (no name, a default size it cannot draw) is malformed. */
    public ModelCard readModelCard(byte[] json) {
        return read(json, ModelCard.class);
    }

    public byte[] writePool(Pool pool) {
        return mapper.writeValueAsBytes(pool);
    }

    /** Reads a pool; one that breaks a pool's rules (a bad name, no model) is malformed. */
    public Pool readPool(byte[] json) {
        return read(json, Pool.class);
    }

    private <T> T read(byte[] json, Class<T> type) {
        try {
            return mapper.readValue(json, type);
        } catch (JacksonException e) {
            throw new MalformedRecordException(type.getSimpleName() + " is not readable: " + e.getOriginalMessage(), e);
        }
    }
}
