package io.diffq.worker.model.tiny.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.worker.model.tiny.Vocabulary;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CaptionGrammarTests {

    private static final Vocabulary VOCABULARY = Vocabulary.load();

    @Test
    void trainingCaptionsNeverUseAHeldOutConstruction() {
        Set<String> heldOut = new HashSet<>();
        CaptionGrammar.constructions(CaptionGrammar.Split.HELD_OUT).forEach(k -> heldOut.add(k.toString()));
        Set<String> used = new HashSet<>();
        Random rng = new Random(7);
        for (int i = 0; i < 50_000; i++) {
            Scene scene = SceneGenerator.random(rng, ColourPairs.training());
            used.add(CaptionGrammar.training(scene, rng).construction());
        }
        assertThat(used).doesNotContainAnyElementsOf(heldOut);
        // Every training construction is drawn, as well as the three partial kinds.
        assertThat(used).hasSize(CaptionGrammar.constructions(CaptionGrammar.Split.TRAINING).size() + 3);
    }

    @Test
    void heldOutConstructionsIncludeWholeCombinersAndTwoClauseCaptions() {
        List<CaptionGrammar.Construction> heldOut = CaptionGrammar.constructions(CaptionGrammar.Split.HELD_OUT);
        assertThat(heldOut).extracting(CaptionGrammar.Construction::combiner).contains("bg-behind", "bg-showing");
        assertThat(heldOut).contains(new CaptionGrammar.Construction("and", "is", "is"));
        assertThat(CaptionGrammar.constructions(CaptionGrammar.Split.TRAINING))
                .extracting(CaptionGrammar.Construction::combiner).doesNotContain("bg-behind", "bg-showing");
        assertThat(CaptionGrammar.isHeldOut(new CaptionGrammar.Construction("on", "adj", "adj")))
                .as("the plain caption").isFalse();
        assertThat(heldOut.size()).isBetween(100, 200);
    }

    @Test
    void everyWordOfAHeldOutCaptionAlsoOccursInTrainingCaptions() {
        Set<String> trainingWords = new HashSet<>();
        Random rng = new Random(3);
        for (int i = 0; i < 50_000; i++) {
            Scene scene = SceneGenerator.random(rng, ColourPairs.training());
            trainingWords.addAll(VOCABULARY.known(CaptionGrammar.training(scene, rng).text()));
        }
        Set<String> heldOutWords = new HashSet<>();
        for (CaptionGrammar.Construction k : CaptionGrammar.constructions(CaptionGrammar.Split.HELD_OUT)) {
            for (int i = 0; i < 20; i++) {
                Scene scene = SceneGenerator.random(rng, ColourPairs.heldOut());
                heldOutWords.addAll(VOCABULARY.known(CaptionGrammar.full(scene, k, rng).text()));
            }
        }
        assertThat(trainingWords).containsAll(heldOutWords).contains("behind", "showing");
    }

    @Test
    void everyWordIsInTheModelsVocabularyAndEveryCaptionFitsItsTokens() {
        assertThat(VOCABULARY.words()).containsAll(CaptionGrammar.words());
        Random rng = new Random(5);
        for (int i = 0; i < 20_000; i++) {
            Scene scene = SceneGenerator.random(rng, ColourPairs.training());
            String text = CaptionGrammar.training(scene, rng).text();
            List<String> words = List.of(text.toLowerCase(java.util.Locale.ROOT).split("[^a-z]+"));
            assertThat(VOCABULARY.known(text)).as(text).containsExactlyElementsOf(words);
            assertThat(words.size() + 1).as(text).isLessThanOrEqualTo(Vocabulary.MAX_TOKENS);
        }
    }

    @Test
    void aCaptionSaysEachColourOfItsOwnNoun() {
        Scene scene = new Scene(ShapeKind.SQUARE, PaletteColour.YELLOW, PaletteColour.GREEN, 4, 4, 16);
        Random rng = new Random(1);
        String clause = CaptionGrammar.full(scene, new CaptionGrammar.Construction("and", "is", "is"), rng).text();
        assertThat(clause).matches(".*the (square|box|block|tile) is yellow and the (background|backdrop|canvas|field) "
                + "is green.*");
        assertThatThrownBy(() -> CaptionGrammar.full(scene,
                new CaptionGrammar.Construction("bg-behind", "that-is", "bare"), rng))
                .as("a bare colour needs a preposition before it; \"green behind …\" has none")
                .isInstanceOf(IllegalArgumentException.class);
        String backgroundFirst = CaptionGrammar.full(scene, new CaptionGrammar.Construction("bg-with", "in", "of"),
                rng).text();
        assertThat(backgroundFirst).matches(".*(background|backdrop|canvas|field) of green with .*"
                + "(square|box|block|tile) in yellow.*");
        CaptionGrammar.Caption partial = CaptionGrammar.backgroundOnly(scene, rng);
        assertThat(partial.namesShape()).isFalse();
        assertThat(partial.text()).contains("green").doesNotContain("yellow");
    }
}
