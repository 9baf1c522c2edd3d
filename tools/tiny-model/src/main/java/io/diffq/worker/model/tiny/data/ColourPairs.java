package io.diffq.worker.model.tiny.data;

import java.util.ArrayList;
import java.util.List;

/**
 * The 56 (shape colour, background colour) pairs, split into training pairs and 8 held-out pairs that the
 * model never sees in training. Each colour is held out once as a shape colour and once as a background
 * (shape colour {@code i}, background {@code i + 3} in palette order); red on blue is a training pair.
 */
public final class ColourPairs {

    public record Pair(PaletteColour shape, PaletteColour background) {
    }

    private ColourPairs() {
    }

    public static boolean isHeldOut(PaletteColour shape, PaletteColour background) {
        int n = PaletteColour.values().length;
        return background.ordinal() == (shape.ordinal() + 3) % n;
    }

    public static List<Pair> heldOut() {
        return select(true);
    }

    public static List<Pair> training() {
        return select(false);
    }

    private static List<Pair> select(boolean heldOut) {
        List<Pair> pairs = new ArrayList<>();
        for (PaletteColour s : PaletteColour.values()) {
            for (PaletteColour b : PaletteColour.values()) {
                if (s != b && isHeldOut(s, b) == heldOut) {
                    pairs.add(new Pair(s, b));
                }
            }
        }
        return List.copyOf(pairs);
    }
}
