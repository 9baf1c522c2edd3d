package io.diffq.worker.model.tiny.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SceneTests {

    @Test
    void holdsOutEightPairsEachColourOnceAsShapeAndOnceAsBackground() {
        List<ColourPairs.Pair> heldOut = ColourPairs.heldOut();
        List<ColourPairs.Pair> training = ColourPairs.training();
        assertThat(heldOut).hasSize(8);
        assertThat(training).hasSize(48).doesNotContainAnyElementsOf(heldOut);
        assertThat(heldOut.stream().map(ColourPairs.Pair::shape)).containsExactlyInAnyOrder(PaletteColour.values());
        assertThat(heldOut.stream().map(ColourPairs.Pair::background))
                .containsExactlyInAnyOrder(PaletteColour.values());
        assertThat(training).contains(new ColourPairs.Pair(PaletteColour.RED, PaletteColour.BLUE));
    }

    @Test
    void scenesStayInsideTheMarginAndUseOnlyTheirTwoColours() {
        Random rng = new Random(3);
        for (int i = 0; i < 200; i++) {
            Scene s = SceneGenerator.random(rng, ColourPairs.training());
            assertThat(s.x()).isGreaterThanOrEqualTo(SceneGenerator.MARGIN);
            assertThat(s.x() + s.size()).isLessThanOrEqualTo(Scene.SIZE - SceneGenerator.MARGIN);
            assertThat(s.y() + s.size()).isLessThanOrEqualTo(Scene.SIZE - SceneGenerator.MARGIN);
            Set<Integer> colours = new HashSet<>();
            var image = SceneImages.render(s);
            for (int y = 0; y < Scene.SIZE; y++) {
                for (int x = 0; x < Scene.SIZE; x++) {
                    colours.add(image.getRGB(x, y) & 0xFFFFFF);
                }
            }
            assertThat(colours).containsExactlyInAnyOrder(s.shapeColour().rgb(), s.background().rgb());
        }
    }

    @Test
    void writesTheSamePixelsAsItRendersScaledToMinusOneToOne() {
        Scene s = new Scene(ShapeKind.TRIANGLE, PaletteColour.YELLOW, PaletteColour.BLACK, 4, 6, 20);
        float[] chw = new float[3 * Scene.SIZE * Scene.SIZE];
        s.writeChw(chw, 0);
        int plane = Scene.SIZE * Scene.SIZE;
        // (16, 20) is inside the triangle: yellow = (1, 1, -1); (0, 0) is background black.
        int inside = 20 * Scene.SIZE + 16;
        assertThat(new float[] {chw[inside], chw[inside + plane], chw[inside + 2 * plane]}).containsExactly(1f, 1f, -1f);
        assertThat(new float[] {chw[0], chw[plane], chw[2 * plane]}).containsExactly(-1f, -1f, -1f);
    }

    @Test
    void captionsNameBothColoursTheShapeAndTheRoles() {
        for (int t = 0; t < Captions.TEMPLATES.size(); t++) {
            String c = Captions.caption(ShapeKind.CIRCLE, PaletteColour.RED, PaletteColour.BLUE, t);
            assertThat(c).contains("red", "circle", "blue");
        }
        assertThat(Captions.caption(ShapeKind.CIRCLE, PaletteColour.RED, PaletteColour.BLUE, 0))
                .isEqualTo("a red circle on a blue background");
        assertThatThrownBy(() -> new Scene(ShapeKind.SQUARE, PaletteColour.RED, PaletteColour.RED, 2, 2, 12))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void snapsPixelsToTheNearestPaletteColour() {
        assertThat(PaletteColour.nearest(0xE01010)).isEqualTo(PaletteColour.RED);
        assertThat(PaletteColour.nearest(0x202020)).isEqualTo(PaletteColour.BLACK);
        assertThat(PaletteColour.nearest(0xF0F0E0)).isEqualTo(PaletteColour.WHITE);
        assertThat(PaletteColour.nearest(0x10C0D0)).isEqualTo(PaletteColour.CYAN);
    }
}
