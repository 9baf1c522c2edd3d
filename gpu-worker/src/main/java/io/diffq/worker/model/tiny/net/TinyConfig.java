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
 * @param maxTokens  token ids per prompt (16 before the caption grammar)
 * @param roles      how the text encoder pools its tokens: 0, the mean; R > 0, R learned role queries (shape,
 *                   shape colour, background) that each attend over the tokens, concatenated
 */
public record TinyConfig(int c1, int c2, int c3, int textDim, int textLayers, int condDim, int vocab, int c0,
        int maxTokens, int roles) {

    /** Token ids per prompt of a config that does not say. */
    public static final int LEGACY_MAX_TOKENS = 16;

    /** A mean-pooled text encoder over {@value #LEGACY_MAX_TOKENS} tokens. */
    public TinyConfig(int c1, int c2, int c3, int textDim, int textLayers, int condDim, int vocab, int c0) {
        this(c1, c2, c3, textDim, textLayers, condDim, vocab, c0, LEGACY_MAX_TOKENS, 0);
    }

    public static TinyConfig standard(int vocab) {
        return new TinyConfig(48, 96, 128, 64, 3, 128, vocab, 32, 24, 3);
    }

    /** The same network with a refinement stage of {@code channels} (0: none). */
    public TinyConfig withRefinement(int channels) {
        return new TinyConfig(c1, c2, c3, textDim, textLayers, condDim, vocab, channels, maxTokens, roles);
    }

    /** The same denoiser with another text encoder. */
    public TinyConfig withText(int textLayers, int vocab, int maxTokens, int roles) {
        return new TinyConfig(c1, c2, c3, textDim, textLayers, condDim, vocab, c0, maxTokens, roles);
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
        p.setProperty("maxTokens", Integer.toString(maxTokens));
        p.setProperty("roles", Integer.toString(roles));
        return p;
    }

    public static TinyConfig fromProperties(Properties p) {
        return new TinyConfig(i(p, "c1"), i(p, "c2"), i(p, "c3"), i(p, "textDim"), i(p, "textLayers"),
                i(p, "condDim"), i(p, "vocab"), p.getProperty("c0") == null ? 0 : i(p, "c0"),
                p.getProperty("maxTokens") == null ? LEGACY_MAX_TOKENS : i(p, "maxTokens"),
                p.getProperty("roles") == null ? 0 : i(p, "roles"));
    }

    private static int i(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null) {
            throw new IllegalArgumentException("model config lacks " + key);
        }
        return Integer.parseInt(v.strip());
    }
}
