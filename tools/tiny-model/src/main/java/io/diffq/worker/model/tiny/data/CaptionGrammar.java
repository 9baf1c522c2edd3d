package io.diffq.worker.model.tiny.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The captions a scene is described in, from a small grammar rather than a few templates, so that a colour
 * is bound to the noun it goes with and not to its place in the caption.
 *
 * <p>A caption is a shape phrase and a background phrase joined by a <em>combiner</em>, shape first or
 * background first, with an optional filler around it ("please draw …", "a picture of …"). Each phrase has
 * several forms: the colour before its noun ("a red circle"), after it ("a circle in red", "a circle
 * coloured red", "a circle that is red", "the circle is red"), or, after a preposition, the bare colour
 * ("on blue"). Nouns have synonyms ("disc", "box", "backdrop", "canvas", …).
 *
 * <p>A <em>construction</em> is one (combiner, shape form, background form). Some constructions are held out
 * of training entirely and used only by the evaluation: two whole combiners ("… behind …" and "… showing
 * …", background first), every caption made of two clauses ("the circle is red and the background is
 * blue"), and one in six of the other (combiner, shape form, background form) triples. Every word of a
 * held-out construction also occurs in training captions; only the way they are put together is new.
 *
 * <p>Partial captions name only some attributes: the shape and its colour, the shape and the background
 * (no shape colour), or the background alone.
 */
public final class CaptionGrammar {

    /** Which constructions. */
    public enum Split {
        /** What training captions are made of. */
        TRAINING,
        /** Never in training: only the evaluation uses them. */
        HELD_OUT
    }

    /** One phrase form: {@code {D}} a determiner, {@code {C}} the colour, {@code {N}} the noun, {@code {P}} "coloured". */
    record Form(String name, String pattern) {
    }

    /**
     * How the two phrases are joined: {@code {S}} the shape phrase, {@code {B}} the background phrase.
     *
     * @param bare whether the background may be just its colour ("on blue")
     */
    record Combiner(String name, String pattern, boolean backgroundFirst, boolean bare) {
    }

    /** A (combiner, shape form, background form): the syntax of a full caption. */
    public record Construction(String combiner, String shapeForm, String backgroundForm) {

        @Override
        public String toString() {
            return combiner + "/" + shapeForm + "/" + backgroundForm;
        }
    }

    /**
     * One caption and what it names.
     *
     * @param construction the construction of a full caption; for a partial one what it is ("shape-only",
     *                     "no-shape-colour", "background-only")
     */
    public record Caption(String text, String construction, boolean namesShape, boolean namesColour,
            boolean namesBackground) {
    }

    static final List<Form> SHAPE_FORMS = List.of(
            new Form("adj", "{D} {C} {N}"),
            new Form("in", "{D} {N} in {C}"),
            new Form("coloured", "{D} {N} {P} {C}"),
            new Form("that-is", "{D} {N} that is {C}"),
            new Form("which-is", "{D} {N} which is {C}"),
            new Form("adj-coloured", "{D} {C} {P} {N}"),
            new Form("is", "the {N} is {C}"));

    static final List<Form> BACKGROUND_FORMS = List.of(
            new Form("adj", "{D} {C} {N}"),
            new Form("of", "{D} {N} of {C}"),
            new Form("in", "{D} {N} in {C}"),
            new Form("coloured", "{D} {N} {P} {C}"),
            new Form("that-is", "{D} {N} that is {C}"),
            new Form("is", "the {N} is {C}"),
            new Form("bare", "{C}"));

    static final List<Combiner> COMBINERS = List.of(
            new Combiner("on", "{S} on {B}", false, true),
            new Combiner("against", "{S} against {B}", false, true),
            new Combiner("comma", "{S}, {B}", false, false),
            new Combiner("and", "{S} and {B}", false, false),
            new Combiner("with", "{S} with {B}", false, false),
            new Combiner("in-front-of", "{S} in front of {B}", false, false),
            new Combiner("on-top-of", "{S} on top of {B}", false, true),
            new Combiner("with-behind-it", "{S} with {B} behind it", false, false),
            new Combiner("bg-with", "{B} with {S}", true, false),
            new Combiner("bg-comma", "{B}, {S}", true, false),
            new Combiner("bg-and", "{B} and {S}", true, false),
            new Combiner("bg-under", "{B} under {S}", true, false),
            new Combiner("on-bg", "on {B}, {S}", true, true),
            new Combiner("bg-behind", "{B} behind {S}", true, false),
            new Combiner("bg-showing", "{B} showing {S}", true, false));

    /** Combiners never used in training. */
    static final List<String> HELD_OUT_COMBINERS = List.of("bg-behind", "bg-showing");

    /** Clause forms ("the circle is red") only join with these. */
    static final List<String> CLAUSE_COMBINERS = List.of("comma", "and", "bg-comma", "bg-and");

    static final List<List<String>> SHAPE_NOUNS = List.of(
            List.of("circle", "disc", "disk", "dot", "ball"),
            List.of("square", "box", "block", "tile"),
            List.of("triangle", "pyramid"));

    static final List<String> BACKGROUND_NOUNS = List.of("background", "backdrop", "canvas", "field");

    static final List<String> COLOURED = List.of("coloured", "colored", "painted");

    static final List<String> FILLERS_BEFORE = List.of("", "", "", "", "please draw", "draw", "paint",
            "a picture of", "an image of", "a picture showing", "show me", "i want", "make", "render",
            "can you draw", "generate");

    static final List<String> FILLERS_AFTER = List.of("", "", "", "please");

    private static final List<Construction> TRAINING = new ArrayList<>();
    private static final List<Construction> HELD_OUT = new ArrayList<>();

    static {
        for (int c = 0; c < COMBINERS.size(); c++) {
            Combiner combiner = COMBINERS.get(c);
            for (int s = 0; s < SHAPE_FORMS.size(); s++) {
                Form shape = SHAPE_FORMS.get(s);
                for (int b = 0; b < BACKGROUND_FORMS.size(); b++) {
                    Form background = BACKGROUND_FORMS.get(b);
                    if (!valid(combiner, shape, background)) {
                        continue;
                    }
                    Construction k = new Construction(combiner.name(), shape.name(), background.name());
                    (heldOut(c, s, b) ? HELD_OUT : TRAINING).add(k);
                }
            }
        }
    }

    private CaptionGrammar() {
    }

    private static boolean valid(Combiner combiner, Form shape, Form background) {
        if (background.name().equals("bare") && !combiner.bare()) {
            return false;
        }
        boolean clause = shape.name().equals("is") || background.name().equals("is");
        if (!clause) {
            return true;
        }
        if (background.name().equals("bare")) {
            // "the circle is red on blue"
            return shape.name().equals("is") && combiner.name().equals("on");
        }
        if (background.name().equals("is")) {
            // "a red circle, and the background is blue"; "the background is blue, a red circle"
            return CLAUSE_COMBINERS.contains(combiner.name());
        }
        // "the circle is red, a blue background"; "the circle is red on a blue background"
        return CLAUSE_COMBINERS.contains(combiner.name()) || combiner.name().equals("on");
    }

    private static boolean heldOut(int combiner, int shape, int background) {
        if (HELD_OUT_COMBINERS.contains(COMBINERS.get(combiner).name())) {
            return true;
        }
        if (SHAPE_FORMS.get(shape).name().equals("is") && BACKGROUND_FORMS.get(background).name().equals("is")) {
            return true;
        }
        // "a red circle on a blue background" (combiner 0, forms 0 and 0) stays in training.
        return (combiner * 7 + shape * 3 + background * 5) % 6 == 1;
    }

    /** The full constructions of a split, in a fixed order. */
    public static List<Construction> constructions(Split split) {
        return List.copyOf(split == Split.TRAINING ? TRAINING : HELD_OUT);
    }

    /** Whether a construction is held out of training. */
    public static boolean isHeldOut(Construction construction) {
        return HELD_OUT.contains(construction);
    }

    /** Every word a caption of the grammar can contain, fillers included. */
    public static List<String> words() {
        java.util.TreeSet<String> words = new java.util.TreeSet<>();
        List<String> texts = new ArrayList<>();
        COMBINERS.forEach(c -> texts.add(c.pattern()));
        SHAPE_FORMS.forEach(f -> texts.add(f.pattern()));
        BACKGROUND_FORMS.forEach(f -> texts.add(f.pattern()));
        texts.addAll(FILLERS_BEFORE);
        texts.addAll(FILLERS_AFTER);
        SHAPE_NOUNS.forEach(texts::addAll);
        texts.addAll(BACKGROUND_NOUNS);
        texts.addAll(COLOURED);
        texts.add("a the");
        for (PaletteColour c : PaletteColour.values()) {
            texts.add(c.word());
        }
        for (String t : texts) {
            for (String w : t.split("[^a-z]+")) {
                if (!w.isEmpty()) {
                    words.add(w);
                }
            }
        }
        return List.copyOf(words);
    }

    /** A full caption of the scene in {@code construction}, its words (determiners, synonyms, filler) drawn. */
    public static Caption full(Scene scene, Construction construction, Random rng) {
        if (!TRAINING.contains(construction) && !HELD_OUT.contains(construction)) {
            throw new IllegalArgumentException("not a construction of the grammar: " + construction);
        }
        Combiner combiner = combiner(construction.combiner());
        String shape = phrase(form(SHAPE_FORMS, construction.shapeForm()), shapeNoun(scene, rng),
                scene.shapeColour(), rng);
        String background = phrase(form(BACKGROUND_FORMS, construction.backgroundForm()),
                pick(rng, BACKGROUND_NOUNS), scene.background(), rng);
        String text = combiner.pattern().replace("{S}", shape).replace("{B}", background);
        return new Caption(fill(text, rng), construction.toString(), true, true, true);
    }

    /** A random caption for training: 70% full (a training construction), 30% partial. */
    public static Caption training(Scene scene, Random rng) {
        double u = rng.nextDouble();
        if (u < 0.12) {
            return shapeOnly(scene, rng);
        }
        if (u < 0.24) {
            return noShapeColour(scene, rng);
        }
        if (u < 0.30) {
            return backgroundOnly(scene, rng);
        }
        return full(scene, TRAINING.get(rng.nextInt(TRAINING.size())), rng);
    }

    /** "a red circle", "a circle that is red", …: the shape and its colour, no background. */
    public static Caption shapeOnly(Scene scene, Random rng) {
        Form form = SHAPE_FORMS.get(rng.nextInt(SHAPE_FORMS.size()));
        String text = phrase(form, shapeNoun(scene, rng), scene.shapeColour(), rng);
        return new Caption(fill(text, rng), "shape-only", true, true, false);
    }

    /** "a circle on a blue background", "a blue backdrop with a box": no colour for the shape. */
    public static Caption noShapeColour(Scene scene, Random rng) {
        List<Construction> plain = TRAINING.stream().filter(k -> k.shapeForm().equals("adj")).toList();
        Construction k = plain.get(rng.nextInt(plain.size()));
        Combiner combiner = combiner(k.combiner());
        String shape = (rng.nextBoolean() ? "a " : "the ") + shapeNoun(scene, rng);
        String background = phrase(form(BACKGROUND_FORMS, k.backgroundForm()), pick(rng, BACKGROUND_NOUNS),
                scene.background(), rng);
        String text = combiner.pattern().replace("{S}", shape).replace("{B}", background);
        return new Caption(fill(text, rng), "no-shape-colour", true, false, true);
    }

    /** "a blue background", "a canvas in blue". */
    public static Caption backgroundOnly(Scene scene, Random rng) {
        List<Form> forms = BACKGROUND_FORMS.stream().filter(f -> !f.name().equals("bare")).toList();
        String text = phrase(forms.get(rng.nextInt(forms.size())), pick(rng, BACKGROUND_NOUNS), scene.background(),
                rng);
        return new Caption(fill(text, rng), "background-only", false, false, true);
    }

    private static Combiner combiner(String name) {
        return COMBINERS.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    private static Form form(List<Form> forms, String name) {
        return forms.stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow();
    }

    private static String shapeNoun(Scene scene, Random rng) {
        return pick(rng, SHAPE_NOUNS.get(scene.shape().ordinal()));
    }

    private static String phrase(Form form, String noun, PaletteColour colour, Random rng) {
        String determiner = switch (rng.nextInt(4)) {
            case 0, 1 -> "a";
            case 2 -> "the";
            default -> "";
        };
        return form.pattern().replace("{D}", determiner).replace("{C}", colour.word()).replace("{N}", noun)
                .replace("{P}", pick(rng, COLOURED)).strip();
    }

    private static String fill(String text, Random rng) {
        String before = pick(rng, FILLERS_BEFORE);
        String after = pick(rng, FILLERS_AFTER);
        String out = (before.isEmpty() ? "" : before + " ") + text + (after.isEmpty() ? "" : ", " + after);
        return out.replaceAll("\\s+", " ").strip();
    }

    private static String pick(Random rng, List<String> words) {
        return words.get(rng.nextInt(words.size()));
    }
}
