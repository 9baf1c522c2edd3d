package io.diffq.worker.model.tiny.net;

import java.util.Properties;

/**
 * The tiny model's shape, stored next to its weights.
 *
 * @param c1         channels at 16×16 (the 32×32 picture is folded into 2×2 patches first)
 * @param c2         channels at 8×8
 * @param c3         channels at 4×4
 * @param textDim    width of the text transformer
 * @param textLayers transformer layers of the text encoder
 * @param condDim    width of the time + text condition fed to every block
 * @param vocab      vocabulary size
 * @param c0         channels of the full-resolution (32×32) refinement stage after the UNet; 0 for none
 */
public record TinyConfig(int c1, int c2, int c3, int textDim, int textLayers, int condDim, int vocab, int c0) {

    public static TinyConfig standard(int vocab) {
        return new TinyConfig(48, 96, 128, 64, 2, 128, vocab, 32);
    }

    /** The same network with a refinement stage of {@code channels} (0: none). */
    public TinyConfig withRefinement(int channels) {
        return new TinyConfig(c1, c2, c3, textDim, textLayers, condDim, vocab, channels);
    }

    public Properties toProperties() {
        Properties p = new Properties();
        p.setProperty("c1", Integer.toString(c1));
        p.setProperty("c2", Integer.toString(c2));
        p.setProperty("c3", Integer.toString(c3));
        p.setProperty("textDim", Integer.toString(textDim));
        p.setProperty("textLayers", Integer.toString(textLayers));
        p.setProperty("condDim", Integer.toString(condDim));
        p.setProperty("vocab", Integer.toString(vocab));
        p.setProperty("c0", Integer.toString(c0));
        return p;
    }

    public static TinyConfig fromProperties(Properties p) {
        return new TinyConfig(i(p, "c1"), i(p, "c2"), i(p, "c3"), i(p, "textDim"), i(p, "textLayers"),
                i(p, "condDim"), i(p, "vocab"), p.getProperty("c0") == null ? 0 : i(p, "c0"));
    }

    private static int i(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null) {
            throw new IllegalArgumentException("model config lacks " + key);
        }
        return Integer.parseInt(v.strip());
    }
}
