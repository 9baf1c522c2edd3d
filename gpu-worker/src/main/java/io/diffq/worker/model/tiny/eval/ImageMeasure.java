package io.diffq.worker.model.tiny.eval;

import io.diffq.worker.model.tiny.data.PaletteColour;
import io.diffq.worker.model.tiny.data.ShapeKind;
import java.awt.image.BufferedImage;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.Map;

/**
 * Reads back what a picture shows, with no model: every pixel is snapped to the nearest palette colour;
 * the background is the commonest colour of the border pixels; the shape colour is the commonest other
 * colour; the shape is told by how much of its bounding box the largest connected blob of the shape
 * colour fills (square ≈ 1, circle ≈ π/4, triangle ≈ 1/2).
 */
public final class ImageMeasure {

    /** Fewer shape pixels than this means no shape was drawn. */
    static final int MIN_SHAPE_PIXELS = 20;
    static final double SQUARE_MIN_FILL = 0.89;
    static final double CIRCLE_MIN_FILL = 0.645;

    /**
     * What a picture shows.
     *
     * @param background  the background colour
     * @param shapeColour the shape colour, or {@code null} when there is no shape
     * @param shape       the shape, or {@code null} when there is none
     * @param fill        the fill ratio of the shape's bounding box (0 when there is no shape)
     */
    public record Reading(PaletteColour background, PaletteColour shapeColour, ShapeKind shape, double fill) {
    }

    private ImageMeasure() {
    }

    public static Reading read(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        PaletteColour[] px = new PaletteColour[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                px[y * w + x] = PaletteColour.nearest(image.getRGB(x, y) & 0xFFFFFF);
            }
        }
        Map<PaletteColour, Integer> border = new EnumMap<>(PaletteColour.class);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (x == 0 || y == 0 || x == w - 1 || y == h - 1) {
                    border.merge(px[y * w + x], 1, Integer::sum);
                }
            }
        }
        PaletteColour background = mode(border);
        Map<PaletteColour, Integer> rest = new EnumMap<>(PaletteColour.class);
        for (PaletteColour c : px) {
            if (c != background) {
                rest.merge(c, 1, Integer::sum);
            }
        }
        PaletteColour shapeColour = mode(rest);
        if (shapeColour == null || rest.get(shapeColour) < MIN_SHAPE_PIXELS) {
            return new Reading(background, null, null, 0);
        }
        double fill = largestBlobFill(px, w, h, shapeColour);
        ShapeKind shape = fill >= SQUARE_MIN_FILL ? ShapeKind.SQUARE
                : fill >= CIRCLE_MIN_FILL ? ShapeKind.CIRCLE : ShapeKind.TRIANGLE;
        return new Reading(background, shapeColour, shape, fill);
    }

    private static PaletteColour mode(Map<PaletteColour, Integer> counts) {
        return counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(null);
    }

    /** Fill ratio of the bounding box of the largest 4-connected blob of {@code colour}. */
    static double largestBlobFill(PaletteColour[] px, int w, int h, PaletteColour colour) {
        boolean[] seen = new boolean[w * h];
        int bestCount = 0;
        double bestFill = 0;
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        for (int start = 0; start < px.length; start++) {
            if (seen[start] || px[start] != colour) {
                continue;
            }
            int count = 0;
            int minX = w;
            int minY = h;
            int maxX = -1;
            int maxY = -1;
            seen[start] = true;
            queue.add(start);
            while (!queue.isEmpty()) {
                int i = queue.poll();
                int x = i % w;
                int y = i / w;
                count++;
                minX = Math.min(minX, x);
                maxX = Math.max(maxX, x);
                minY = Math.min(minY, y);
                maxY = Math.max(maxY, y);
                int[] next = {x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1};
                for (int j : next) {
                    if (j >= 0 && !seen[j] && px[j] == colour) {
                        seen[j] = true;
                        queue.add(j);
                    }
                }
            }
            if (count > bestCount) {
                bestCount = count;
                bestFill = count / (double) ((maxX - minX + 1) * (maxY - minY + 1));
            }
        }
        return bestFill;
    }
}
