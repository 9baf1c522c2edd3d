package io.diffq.worker.model.sd;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.net.URISyntaxException;
import java.nio.file.Path;

/**
 * The Stable Diffusion test fixture ({@code src/test/resources/sd-fixture}, made by
 * {@code scripts/sd/make_fixtures.py}): a word-level tokenizer and TorchScript modules with Stable
 * Diffusion's signatures that draw, exactly, the sum of the prompt's colours (red = (0.5, −0.5, −0.5) in
 * [−1, 1] RGB) on the left half of the picture and grey on the right; guidance g gives
 * {@code negative + g·(prompt − negative)}.
 */
public final class SdFixture {

    private SdFixture() {
    }

    public static Path directory() {
        try {
            return Path.of(SdFixture.class.getResource("/sd-fixture").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every pixel in columns {@code [from, to)} is the colour (r, g, b), within 1 per channel. */
    public static void assertRegion(BufferedImage image, int from, int to, int r, int g, int b) {
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = from; x < to; x++) {
                int rgb = image.getRGB(x, y);
                int[] actual = {(rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF};
                int px = x;
                int py = y;
                assertThat(actual).as("pixel (%d, %d)", px, py).satisfies(a -> {
                    assertThat(a[0]).isBetween(r - 1, r + 1);
                    assertThat(a[1]).isBetween(g - 1, g + 1);
                    assertThat(a[2]).isBetween(b - 1, b + 1);
                });
            }
        }
    }
}
