package io.diffq.worker.model.tiny;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class VocabularyTests {

    private final Vocabulary vocabulary = Vocabulary.load();

    @Test
    void keepsKnownWordsInOrderAndDropsUnknownOnes() {
        assertThat(vocabulary.known("A RED circle, on a lovely Blue background!!"))
                .containsExactly("a", "red", "circle", "on", "a", "blue", "background");
        assertThat(vocabulary.known("<start> <pad> red")).containsExactly("red");
    }

    @Test
    void anEmptyOrUnknownPromptIsTheStartTokenAlone() {
        int[] empty = vocabulary.encode("");
        assertThat(empty).hasSize(Vocabulary.MAX_TOKENS);
        assertThat(empty[0]).isEqualTo(1);
        assertThat(java.util.Arrays.stream(empty).skip(1)).allMatch(t -> t == 0);
        assertThat(vocabulary.encode("purple elephants dancing")).containsExactly(empty);
        assertThat(vocabulary.encode(null)).containsExactly(empty);
    }

    @Test
    void theEncodingKeepsWordOrder() {
        int[] redOnBlue = vocabulary.encode("a red circle on blue");
        int[] blueOnRed = vocabulary.encode("a blue circle on red");
        assertThat(redOnBlue).isNotEqualTo(blueOnRed);
        assertThat(java.util.Arrays.stream(redOnBlue).sorted().toArray())
                .containsExactly(java.util.Arrays.stream(blueOnRed).sorted().toArray());
    }

    @Test
    void cutsLongPromptsAtTheTokenLimit() {
        int[] tokens = vocabulary.encode("red ".repeat(40));
        assertThat(tokens).hasSize(Vocabulary.MAX_TOKENS).doesNotContain(0);
    }

    @Test
    void aVocabularyStartsWithPadAndStart() {
        assertThatThrownBy(() -> new Vocabulary(List.of("red", "blue"))).isInstanceOf(IllegalArgumentException.class);
        assertThat(vocabulary.words()).startsWith(Vocabulary.PAD, Vocabulary.START).contains("circle", "backdrop");
    }
}
