package io.diffq.worker.model.tiny.data;

import java.util.Locale;

/** The shapes of the synthetic world. */
public enum ShapeKind {
    CIRCLE, SQUARE, TRIANGLE;

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
