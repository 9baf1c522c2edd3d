package io.diffq.gateway.models;

import io.diffq.common.model.ModelCard;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** The models workers have advertised on {@code diffq.models}, each with its card. Names match ignoring case. */
public interface ModelCatalog {

    /** Every advertised card, by name. */
    List<ModelCard> cards();

    /** The card of the model, as far as this gateway has read the topic. */
    Optional<ModelCard> card(String name);

    /**
     * The card of the model, reading the topic up to its current end first when the model is not known
     * yet, so that a model a worker advertised moments ago is found.
     */
    Optional<ModelCard> latestCard(String name);

    /** A catalog of fixed cards. */
    static ModelCatalog of(ModelCard... cards) {
        List<ModelCard> sorted = List.of(cards).stream().sorted(Comparator.comparing(ModelCard::name)).toList();
        return new ModelCatalog() {

            @Override
            public List<ModelCard> cards() {
                return sorted;
            }

            @Override
            public Optional<ModelCard> card(String name) {
                return sorted.stream().filter(c -> c.name().equalsIgnoreCase(name)).findFirst();
            }

            @Override
            public Optional<ModelCard> latestCard(String name) {
                return card(name);
            }
        };
    }
}
