package io.diffq.gateway.models;

import io.diffq.common.model.ModelCard;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/** Out of service until the catalog has read the models advertised before start-up: no model is refused for that. */
@Component("modelCatalog")
class ModelCatalogHealthIndicator implements HealthIndicator {

    private final KafkaModelCatalog catalog;

    ModelCatalogHealthIndicator(KafkaModelCatalog catalog) {
        this.catalog = catalog;
    }

    @Override
    public Health health() {
        if (!catalog.isCaughtUp()) {
            return Health.outOfService().build();
        }
        return Health.up().withDetail("models", catalog.cards().stream().map(ModelCard::name).toList()).build();
    }
}
