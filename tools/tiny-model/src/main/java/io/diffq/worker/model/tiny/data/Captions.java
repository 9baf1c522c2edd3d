package io.diffq.worker.model.tiny.data;

import java.util.List;

/**
 * The first model's eight caption templates and partial captions. Training now uses {@link CaptionGrammar};
 * these remain the "plain" captions whose text vectors a new text encoder learns to reproduce
 * ({@code TrainTextEncoder}: the first template of each list).
 */
public final class Captions {

    /** Templates: {@code %1$s} shape colour, {@code %2$s} shape, {@code %3$s} background colour. */
    public static final List<String> TEMPLATES = List.of(
            "a %1$s %2$s on a %3$s background",
            "%3$s background, %1$s %2$s",
            "%1$s %2$s, %3$s backdrop",
            "a %2$s in %1$s on %3$s",
            "a %1$s %2$s on %3$s",
            "a %3$s background with a %1$s %2$s",
            "%1$s %2$s against a %3$s background",
            "on a %3$s background, a %1$s %2$s");

    /** Captions that name the shape and its colour but not the background. */
    public static final List<String> SHAPE_ONLY = List.of("a %1$s %2$s", "%1$s %2$s", "a %2$s in %1$s");

    /** Captions that name the shape and the background but not the shape's colour. */
    public static final List<String> NO_SHAPE_COLOUR = List.of(
            "a %2$s on a %3$s background", "%3$s background, a %2$s", "a %2$s, %3$s backdrop");

    /** Captions that name the background only. */
    public static final List<String> BACKGROUND_ONLY = List.of("a %3$s background", "%3$s backdrop");

    private Captions() {
    }

    public static String caption(ShapeKind shape, PaletteColour colour, PaletteColour background, int template) {
        return String.format(TEMPLATES.get(template), colour.word(), shape.word(), background.word());
    }

    /** Fills one of the template lists above with the scene's words. */
    public static String caption(String template, Scene scene) {
        return String.format(template, scene.shapeColour().word(), scene.shape().word(), scene.background().word());
    }

    public static String caption(Scene scene, int template) {
        return caption(scene.shape(), scene.shapeColour(), scene.background(), template);
    }
}
