package io.diffq.worker.model;

import java.awt.image.BufferedImage;

/**
 * How one request of a batch ended: its picture, or what its step listener threw to stop it (a cancel, a
 * time limit, a hand-back).
 */
public record Drawing(BufferedImage image, RuntimeException stoppedBy) {

    public static Drawing of(BufferedImage image) {
        return new Drawing(image, null);
    }

    public static Drawing stopped(RuntimeException by) {
        return new Drawing(null, by);
    }

    /** The picture, or the listener's exception thrown. */
    public BufferedImage imageOrThrow() {
        if (stoppedBy != null) {
            throw stoppedBy;
        }
        return image;
    }
}
