package io.diffq.worker.model.tiny.data;

import io.diffq.worker.model.tiny.net.TinyUNet;

/**
 * One synthetic picture: a shape of one colour on a background of another. The shape's bounding box is
 * the square {@code [x, x + size) × [y, y + size)} in a {@value #SIZE}×{@value #SIZE} image.
 */
public record Scene(ShapeKind shape, PaletteColour shapeColour, PaletteColour background, int x, int y, int size) {

    public static final int SIZE = TinyUNet.SIZE;

    public Scene {
        if (shapeColour == background) {
            throw new IllegalArgumentException("shape and background share colour " + background);
        }
    }

    /** Whether pixel {@code (px, py)}'s centre lies inside the shape. */
    public boolean covers(int px, int py) {
        double cx = px + 0.5 - x;
        double cy = py + 0.5 - y;
        if (cx < 0 || cy < 0 || cx > size || cy > size) {
            return false;
        }
        return switch (shape) {
            case SQUARE -> true;
            case CIRCLE -> {
                double r = size / 2.0;
                yield (cx - r) * (cx - r) + (cy - r) * (cy - r) <= r * r;
            }
            // Upright isosceles triangle: apex at the top centre, base along the bottom edge.
            case TRIANGLE -> Math.abs(cx - size / 2.0) <= cy / 2.0;
        };
    }

    /** Writes the picture as CHW floats in [-1, 1] into {@code out} at {@code offset}. */
    public void writeChw(float[] out, int offset) {
        int plane = SIZE * SIZE;
        for (int py = 0; py < SIZE; py++) {
            for (int px = 0; px < SIZE; px++) {
                PaletteColour c = covers(px, py) ? shapeColour : background;
                int i = offset + py * SIZE + px;
                out[i] = c.r() / 127.5f - 1f;
                out[i + plane] = c.g() / 127.5f - 1f;
                out[i + 2 * plane] = c.b() / 127.5f - 1f;
            }
        }
    }
}
