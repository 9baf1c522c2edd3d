package io.diffq.common.json;

/** A record on a topic that is not a readable contract value: never worth retrying. */
public class MalformedRecordException extends RuntimeException {

    public MalformedRecordException(String message, Throwable cause) {
        super(message, cause);
    }
}
