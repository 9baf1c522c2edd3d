package io.diffq.worker.model.sd;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Prompts to token ids for the text encoder, with the model's own {@code tokenizer.json} (Hugging Face
 * {@code tokenizers}, read from the model directory, never fetched by name): special tokens added,
 * truncated to the text encoder's length (the end token kept) and padded with the model's pad token.
 */
final class PromptTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final int length;
    private final long padId;

    private PromptTokenizer(HuggingFaceTokenizer tokenizer, int length, long padId) {
        this.tokenizer = tokenizer;
        this.length = length;
        this.padId = padId;
    }

    static PromptTokenizer open(Path tokenizerJson, int length, String padToken) {
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(tokenizerJson)
                    .optAddSpecialTokens(true)
                    .optTruncation(true)
                    .optMaxLength(length)
                    .optPadding(false)
                    .build();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + tokenizerJson, e);
        }
        long[] pad = tokenizer.encode(padToken, false, false).getIds();
        if (pad.length != 1) {
            tokenizer.close();
            throw new IllegalArgumentException(tokenizerJson + ": pad token '" + padToken + "' is not one token");
        }
        return new PromptTokenizer(tokenizer, length, pad[0]);
    }

    /** The ids of {@code text}, exactly {@code length} of them. */
    long[] encode(String text) {
        Encoding encoding = tokenizer.encode(text == null ? "" : text);
        long[] ids = encoding.getIds();
        long[] out = Arrays.copyOf(ids, length);
        Arrays.fill(out, Math.min(ids.length, length), length, padId);
        return out;
    }

    int length() {
        return length;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
