package io.diffq.worker.model.tiny;

/**
 * What the quality test demands of the committed weights: 10 points under what {@code EvaluateTinyModel
 * --samples 2} measured on them (20 DDIM steps, the model's default guidance 5, 144 pictures): colour
 * adherence 100% on training pairs and 97.9% on held-out pairs, shape recognition 95.8% (89.6% on held-out
 * pairs).
 */
final class QualityFloors {

    static final double SEEN_COLOURS = 0.90;
    static final double HELD_OUT_COLOURS = 0.88;
    static final double SHAPES = 0.86;
    static final double HELD_OUT_SHAPES = 0.80;

    private QualityFloors() {
    }
}
