package io.diffq.worker.pipeline;

import ai.djl.ndarray.NDArray;
import java.awt.image.BufferedImage;

/** Conversions between model tensors and pictures, and how far two pictures differ. */
public final class Images {

    private Images() {
    }

    /** (3, H, W) or (1, 3, H, W) floats in [-1, 1] → an RGB picture. */
    public static BufferedImage fromChw(NDArray chw) {
        long[] s = chw.getShape().getShape();
        int h = (int) s[s.length - 2];
        int w = (int) s[s.length - 1];
        float[] v = chw.toFloatArray();
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int plane = w * h;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                image.setRGB(x, y, (toByte(v[i]) << 16) | (toByte(v[i + plane]) << 8) | toByte(v[i + 2 * plane]));
            }
        }
        return image;
    }

    private static int toByte(float value) {
        return Math.round(Math.max(0f, Math.min(1f, (value + 1f) / 2f)) * 255f);
    }

    /** Nearest-neighbour upscaling by an integer factor. */
    public static BufferedImage upscale(BufferedImage image, int factor) {
        if (factor == 1) {
            return image;
        }
        int w = image.getWidth();
        int h = image.getHeight();
        BufferedImage out = new BufferedImage(w * factor, h * factor, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h * factor; y++) {
            for (int x = 0; x < w * factor; x++) {
                out.setRGB(x, y, image.getRGB(x / factor, y / factor));
            }
        }
        return out;
    }

    /**
     * How far two pictures of one size differ.
     *
     * @param largestChannel the largest difference of one channel (0–255) of one pixel
     * @param pixels         how many pixels differ at all
     */
    public record Difference(int largestChannel, int pixels) {
    }

    public static Difference difference(BufferedImage a, BufferedImage b) {
        if (a.getWidth() != b.getWidth() || a.getHeight() != b.getHeight()) {
            throw new IllegalArgumentException("pictures of different sizes");
        }
        int largest = 0;
        int pixels = 0;
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                int p = a.getRGB(x, y);
                int q = b.getRGB(x, y);
                int d = 0;
                for (int shift = 0; shift <= 16; shift += 8) {
                    d = Math.max(d, Math.abs(((p >> shift) & 255) - ((q >> shift) & 255)));
                }
                largest = Math.max(largest, d);
                pixels += d > 0 ? 1 : 0;
            }
        }
        return new Difference(largest, pixels);
    }
}
