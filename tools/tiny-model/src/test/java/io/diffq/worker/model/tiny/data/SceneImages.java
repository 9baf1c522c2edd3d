package io.diffq.worker.model.tiny.data;

import java.awt.image.BufferedImage;

/** Scenes as images, for tests: the pixels the training loop gets from {@link Scene#writeChw}, back in RGB. */
public final class SceneImages {

    private SceneImages() {
    }

    public static BufferedImage render(Scene scene) {
        int plane = Scene.SIZE * Scene.SIZE;
        float[] chw = new float[3 * plane];
        scene.writeChw(chw, 0);
        BufferedImage image = new BufferedImage(Scene.SIZE, Scene.SIZE, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < plane; i++) {
            image.setRGB(i % Scene.SIZE, i / Scene.SIZE,
                    channel(chw[i]) << 16 | channel(chw[i + plane]) << 8 | channel(chw[i + 2 * plane]));
        }
        return image;
    }

    private static int channel(float value) {
        return Math.round((value + 1f) * 127.5f);
    }
}
