package io.diffq.common.job;

/**
 * A failure as data: what went wrong, said for the client, and whether trying again could help.
 *
 * @param type      a stable, machine-readable kind, e.g. {@code model-error}, {@code unsupported-model}
 * @param message   a human-readable explanation; never a stack trace
 * @param retryable whether another attempt could succeed
 */
public record JobFailure(String type, String message, boolean retryable) {

    public static JobFailure fatal(String type, String message) {
        return new JobFailure(type, message, false);
    }

    public static JobFailure retryable(String type, String message) {
        return new JobFailure(type, message, true);
    }
}
