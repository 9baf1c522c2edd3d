package io.diffq.worker.model.tiny.eval;

import io.diffq.worker.model.tiny.data.PaletteColour;
import io.diffq.worker.model.tiny.data.Scene;
import io.diffq.worker.model.tiny.data.ShapeKind;
import java.awt.image.BufferedImage;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.Map;

/**
 * Reads back what a picture shows, with no model: every pixel is snapped to the nearest palette colour;
 * the background is the commonest colour of the border pixels; the shape colour is the commonest other
 * colour. The shape is the one the largest connected blob of the shape colour overlaps best: every shape
 * the data set draws (circle, square, upright triangle) is laid over the blob at every size and position
 * near it, and the blob reads as the shape with the highest intersection over union — if that is at least
 * {@value #MIN_OVERLAP}, the overlap a correctly drawn shape still keeps when 15% of the pixels along its edge
 * are flipped at random (1st percentile over 600 such pictures, {@code ImageMeasureTests}); below it, as no
 * shape (an L, three quarters of a square, overlaps a square by 0.75).
 *
 * <p>An earlier rule told the shape by how much of its bounding box the blob fills (square ≈ 1, circle ≈ π/4,
 * triangle ≈ ½). One pixel sticking out of an edge grows the box and reads a square as a circle: it reads
 * only two thirds of correct shapes with 15% of their edge pixels flipped. It is still reported
 * ({@link Reading#shapeByFill()}) so that results stay comparable with earlier measurements.
 */
public final class ImageMeasure {

    /** Fewer shape pixels than this means no shape was drawn. */
    static final int MIN_SHAPE_PIXELS = 20;
    /** The least overlap (IoU) with the best-fitting shape for the blob to read as that shape. */
    static final double MIN_OVERLAP = 0.8;
    static final double SQUARE_MIN_FILL = 0.89;
    static final double CIRCLE_MIN_FILL = 0.645;
    /** How far the laid-over shapes are moved and resized around the blob's bounding box. */
    private static final int SHIFT = 3;
    private static final int SHRINK = 6;
    private static final int GROW = 3;

    /**
     * What a picture shows.
     *
     * @param background  the background colour
     * @param shapeColour the shape colour, or {@code null} when there is no shape
     * @param shape       the shape, or {@code null} when there is none or the blob fits none well enough
     * @param overlap     the intersection over union of the blob with the best-fitting shape (0 without a shape)
     * @param shapeByFill the shape by the earlier bounding-box rule, or {@code null} when there is no shape
     * @param fill        the fill ratio of the blob's bounding box (0 when there is no shape)
     */
    public record Reading(PaletteColour background, PaletteColour shapeColour, ShapeKind shape, double overlap,
            ShapeKind shapeByFill, double fill) {
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
            return new Reading(background, null, null, 0, null, 0);
        }
        Blob blob = largestBlob(px, w, h, shapeColour);
        double fill = blob.fill();
        ShapeKind byFill = fill >= SQUARE_MIN_FILL ? ShapeKind.SQUARE
                : fill >= CIRCLE_MIN_FILL ? ShapeKind.CIRCLE : ShapeKind.TRIANGLE;
        ShapeKind best = null;
        double bestOverlap = 0;
        for (ShapeKind kind : ShapeKind.values()) {
            double overlap = bestOverlap(blob, kind, w, h);
            if (overlap > bestOverlap) {
                bestOverlap = overlap;
                best = kind;
            }
        }
        return new Reading(background, shapeColour, bestOverlap >= MIN_OVERLAP ? best : null, bestOverlap, byFill,
                fill);
    }

    private static PaletteColour mode(Map<PaletteColour, Integer> counts) {
        return counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(null);
    }

    /** A blob of pixels and its bounding box. */
    record Blob(boolean[] mask, int count, int minX, int minY, int maxX, int maxY) {

        double fill() {
            return count / (double) ((maxX - minX + 1) * (maxY - minY + 1));
        }
    }

    /** The highest IoU of {@code kind}, drawn as the data set draws it, at sizes and places around the blob. */
    static double bestOverlap(Blob blob, ShapeKind kind, int w, int h) {
        int side = Math.max(blob.maxX() - blob.minX(), blob.maxY() - blob.minY()) + 1;
        double best = 0;
        for (int size = Math.max(2, side - SHRINK); size <= side + GROW; size++) {
            for (int ox = blob.minX() - SHIFT; ox <= blob.minX() + SHIFT; ox++) {
                for (int oy = blob.minY() - SHIFT; oy <= blob.minY() + SHIFT; oy++) {
                    best = Math.max(best, overlap(blob, new Scene(kind, PaletteColour.WHITE, PaletteColour.BLACK, ox,
                            oy, size), w, h));
                }
            }
        }
        return best;
    }

    private static double overlap(Blob blob, Scene template, int w, int h) {
        int x0 = Math.max(0, Math.min(blob.minX(), template.x()));
        int y0 = Math.max(0, Math.min(blob.minY(), template.y()));
        int x1 = Math.min(w - 1, Math.max(blob.maxX(), template.x() + template.size()));
        int y1 = Math.min(h - 1, Math.max(blob.maxY(), template.y() + template.size()));
        int both = 0;
        int drawn = 0;
        for (int y = y0; y <= y1; y++) {
            for (int x = x0; x <= x1; x++) {
                if (template.covers(x, y)) {
                    drawn++;
                    if (blob.mask()[y * w + x]) {
                        both++;
                    }
                }
            }
        }
        return both / (double) (blob.count() + drawn - both);
    }

    /** The largest 4-connected blob of {@code colour}. */
    static Blob largestBlob(PaletteColour[] px, int w, int h, PaletteColour colour) {
        boolean[] seen = new boolean[w * h];
        Blob best = null;
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        for (int start = 0; start < px.length; start++) {
            if (seen[start] || px[start] != colour) {
                continue;
            }
            boolean[] mask = new boolean[w * h];
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
                mask[i] = true;
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
            if (best == null || count > best.count()) {
                best = new Blob(mask, count, minX, minY, maxX, maxY);
            }
        }
        return best;
    }
}
