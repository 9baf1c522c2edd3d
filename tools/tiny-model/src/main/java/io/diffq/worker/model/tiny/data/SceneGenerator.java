package io.diffq.worker.model.tiny.data;

import java.util.List;
import java.util.Random;

/** Draws random scenes: a shape of side 12–22 px anywhere at least 2 px inside the border. */
public final class SceneGenerator {

    public static final int MIN_SIZE = 12;
    public static final int MAX_SIZE = 22;
    public static final int MARGIN = 2;

    private SceneGenerator() {
    }

    public static Scene random(Random rng, List<ColourPairs.Pair> pairs) {
        ColourPairs.Pair pair = pairs.get(rng.nextInt(pairs.size()));
        ShapeKind shape = ShapeKind.values()[rng.nextInt(ShapeKind.values().length)];
        return place(rng, shape, pair.shape(), pair.background());
    }

    public static Scene place(Random rng, ShapeKind shape, PaletteColour colour, PaletteColour background) {
        int size = MIN_SIZE + rng.nextInt(MAX_SIZE - MIN_SIZE + 1);
        int span = Scene.SIZE - 2 * MARGIN - size + 1;
        int x = MARGIN + rng.nextInt(span);
        int y = MARGIN + rng.nextInt(span);
        return new Scene(shape, colour, background, x, y, size);
    }
}
