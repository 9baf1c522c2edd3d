package io.diffq.worker.model.tiny.data;

import java.util.Locale;

/** The eight colours of the synthetic world: the corners of the RGB cube, so any two differ by a full channel. */
public enum PaletteColour {
    RED(255, 0, 0), GREEN(0, 255, 0), BLUE(0, 0, 255), YELLOW(255, 255, 0),
    CYAN(0, 255, 255), MAGENTA(255, 0, 255), WHITE(255, 255, 255), BLACK(0, 0, 0);

    private final int r;
    private final int g;
    private final int b;

    PaletteColour(int r, int g, int b) {
        this.r = r;
        this.g = g;
        this.b = b;
    }

    public int r() {
        return r;
    }

    public int g() {
        return g;
    }

    public int b() {
        return b;
    }

    public int rgb() {
        return (r << 16) | (g << 8) | b;
    }

    /** The word prompts use. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The palette colour nearest (Euclidean in RGB) to a packed {@code 0xRRGGBB} pixel. */
    public static PaletteColour nearest(int rgb) {
        int pr = (rgb >> 16) & 0xFF;
        int pg = (rgb >> 8) & 0xFF;
        int pb = rgb & 0xFF;
        PaletteColour best = null;
        int bestD = Integer.MAX_VALUE;
        for (PaletteColour c : values()) {
            int d = sq(pr - c.r) + sq(pg - c.g) + sq(pb - c.b);
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        return best;
    }

    private static int sq(int v) {
        return v * v;
    }
}
