package io.diffq.gateway.models;

import io.diffq.common.model.ModelCard;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.GatewayProperties.Limits;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.springframework.stereotype.Component;

/**
 * The models a job may name: those workers advertised, with their cards, and those declared in
 * {@code diffq.gateway.models.served}, which until a worker advertises them are taken to draw what the
 * general limits allow. Names match ignoring case.
 */
@Component
public class KnownModels {

    private final ModelCatalog catalog;
    private final List<String> served;
    private final String defaultModel;
    private final Limits limits;

    public KnownModels(ModelCatalog catalog, GatewayProperties properties) {
        this.catalog = catalog;
        this.served = properties.models().served();
        this.defaultModel = properties.models().defaultModel();
        this.limits = properties.limits();
    }

    /** The model of a job that names none. */
    public String defaultModel() {
        return defaultModel;
    }

    /**
     * The card a job for the model is checked against: the one a worker advertised, else the general limits
     * for a declared model; empty for a model neither advertised (even moments ago) nor declared.
     */
    public Optional<ModelCard> find(String name) {
        Optional<ModelCard> card = catalog.card(name);
        if (card.isPresent()) {
            return card;
        }
        Optional<String> declared = served.stream().filter(name::equalsIgnoreCase).findFirst();
        return declared.isPresent() ? declared.map(limits::cardFor) : catalog.latestCard(name);
    }

    /** Every model a job may name, by name; a declared model no worker has advertised has no worker. */
    public List<ModelCard> all() {
        Map<String, ModelCard> all = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        served.forEach(name -> all.put(name, limits.cardFor(name)));
        catalog.cards().forEach(card -> all.put(card.name(), card));
        return List.copyOf(all.values());
    }

    /** The names of {@link #all()}. */
    public List<String> names() {
        return all().stream().map(ModelCard::name).toList();
    }
}
