package io.diffq.worker.pipeline;

/** Thrown by a {@link StepListener} to stop a generation at the next step. */
public class GenerationCanceledException extends RuntimeException {

    public GenerationCanceledException(String message) {
        super(message);
    }
}
