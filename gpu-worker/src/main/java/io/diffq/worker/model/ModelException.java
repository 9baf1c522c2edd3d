package io.diffq.worker.model;

/**
 * A model could not serve a request. {@code type} is the stable kind reported in the job's failure.
 */
public class ModelException extends RuntimeException {

    private final String type;
    private final boolean retryable;

    public ModelException(String type, String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.type = type;
        this.retryable = retryable;
    }

    public ModelException(String type, String message) {
        this(type, message, false, null);
    }

    public String type() {
        return type;
    }

    public boolean retryable() {
        return retryable;
    }
}
