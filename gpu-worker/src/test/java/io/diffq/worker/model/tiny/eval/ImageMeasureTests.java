package io.diffq.worker.model.tiny.eval;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.worker.model.tiny.data.ColourPairs;
import io.diffq.worker.model.tiny.data.PaletteColour;
import io.diffq.worker.model.tiny.data.Scene;
import io.diffq.worker.model.tiny.data.SceneGenerator;
import io.diffq.worker.model.tiny.data.ShapeKind;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ImageMeasureTests {

    @Test
    void readsBackEveryRenderedScene() {
        Random rng = new Random(11);
        List<ColourPairs.Pair> all = new ArrayList<>(ColourPairs.training());
        all.addAll(ColourPairs.heldOut());
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            Scene s = SceneGenerator.random(rng, all);
            ImageMeasure.Reading r = ImageMeasure.read(s.render());
            if (r.background() != s.background() || r.shapeColour() != s.shapeColour() || r.shape() != s.shape()) {
                wrong.add(s + " read as " + r);
            }
        }
        assertThat(wrong).isEmpty();
    }

    @Test
    void toleratesNoiseAndStrayPixels() {
        Scene s = new Scene(ShapeKind.CIRCLE, PaletteColour.RED, PaletteColour.BLUE, 8, 5, 16);
        BufferedImage image = s.render();
        Random rng = new Random(5);
        for (int y = 0; y < Scene.SIZE; y++) {
            for (int x = 0; x < Scene.SIZE; x++) {
                int rgb = image.getRGB(x, y);
                int r = clamp(((rgb >> 16) & 0xFF) + rng.nextInt(81) - 40);
                int g = clamp(((rgb >> 8) & 0xFF) + rng.nextInt(81) - 40);
                int b = clamp((rgb & 0xFF) + rng.nextInt(81) - 40);
                image.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        image.setRGB(1, 1, PaletteColour.RED.rgb());
        image.setRGB(30, 29, PaletteColour.RED.rgb());
        ImageMeasure.Reading reading = ImageMeasure.read(image);
        assertThat(reading.background()).isEqualTo(PaletteColour.BLUE);
        assertThat(reading.shapeColour()).isEqualTo(PaletteColour.RED);
        assertThat(reading.shape()).isEqualTo(ShapeKind.CIRCLE);
    }

    @Test
    void aPlainPictureHasNoShape() {
        BufferedImage image = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        ImageMeasure.Reading reading = ImageMeasure.read(image);
        assertThat(reading.background()).isEqualTo(PaletteColour.BLACK);
        assertThat(reading.shapeColour()).isNull();
        assertThat(reading.shape()).isNull();
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }
}
