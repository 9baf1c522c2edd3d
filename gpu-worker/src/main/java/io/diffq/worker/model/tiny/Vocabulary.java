package io.diffq.worker.model.tiny;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The tiny model's word tokenizer. A prompt is lower-cased and split into runs of letters; each word in
 * the vocabulary becomes its id, other words are dropped. Every encoding starts with {@code <start>}, so
 * an empty (or all-unknown) prompt still has one token: the unconditional one. Ids are padded with
 * {@code <pad>} (0) to {@link #MAX_TOKENS}, and cut there.
 */
public final class Vocabulary {

    /** Token ids per prompt of the current model (a model's config says how many it takes). */
    public static final int MAX_TOKENS = 24;
    public static final String PAD = "<pad>";
    public static final String START = "<start>";
    public static final String RESOURCE = "/models/tiny/vocab.txt";

    private final List<String> words;
    private final Map<String, Integer> ids = new HashMap<>();

    public Vocabulary(List<String> words) {
        if (words.size() < 2 || !PAD.equals(words.get(0)) || !START.equals(words.get(1))) {
            throw new IllegalArgumentException("a vocabulary starts with " + PAD + " and " + START);
        }
        this.words = List.copyOf(words);
        for (int i = 0; i < words.size(); i++) {
            ids.put(words.get(i), i);
        }
    }

    /** The committed vocabulary of the tiny model. */
    public static Vocabulary load() {
        try (InputStream in = Vocabulary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the classpath");
            }
            List<String> words = new ArrayList<>();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!line.isBlank()) {
                        words.add(line.strip());
                    }
                }
            }
            return new Vocabulary(words);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int size() {
        return words.size();
    }

    public List<String> words() {
        return Collections.unmodifiableList(words);
    }

    /** The known words of {@code prompt}, in order. */
    public List<String> known(String prompt) {
        List<String> out = new ArrayList<>();
        if (prompt == null) {
            return out;
        }
        for (String w : prompt.toLowerCase(Locale.ROOT).split("[^a-z]+")) {
            if (!w.isEmpty() && ids.containsKey(w) && !w.startsWith("<")) {
                out.add(w);
            }
        }
        return out;
    }

    /** {@value #MAX_TOKENS} ids: {@code <start>}, the known words, then padding. */
    public int[] encode(String prompt) {
        return encode(prompt, MAX_TOKENS);
    }

    /** {@code length} ids: {@code <start>}, the known words, then padding. */
    public int[] encode(String prompt, int length) {
        int[] tokens = new int[length];
        tokens[0] = ids.get(START);
        int n = 1;
        for (String w : known(prompt)) {
            if (n == length) {
                break;
            }
            tokens[n++] = ids.get(w);
        }
        return tokens;
    }
}
