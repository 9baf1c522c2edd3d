package io.diffq.gateway.models;

import io.diffq.common.model.ModelCard;
import io.diffq.gateway.GatewayProperties;
import java.time.Instant;
import java.util.List;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** The models API: what a job may ask for, model by model. */
@RestController
@RequestMapping("/v1/models")
class ModelsController {

    /**
     * The models a job may name.
     *
     * @param defaultModel the model of a job that names none
     * @param models       each model and what it draws
     */
    record ModelsView(String defaultModel, List<ModelView> models) {
    }

    /**
     * One model: its card, and whether a worker advertised it (a declared model no worker has advertised
     * shows the general limits, without worker and time).
     */
    record ModelView(String name, boolean advertised, int defaultSize, int minSize, int maxSize, int sizeMultiple,
            boolean squareOnly, List<String> schedulers, double defaultGuidance, String worker, Instant advertisedAt) {

        static ModelView of(ModelCard c, double gatewayDefaultGuidance) {
            return new ModelView(c.name(), c.worker() != null, c.defaultSize(), c.minSize(), c.maxSize(),
                    c.sizeMultiple(), c.squareOnly(), c.schedulers(),
                    c.defaultGuidance() != null ? c.defaultGuidance() : gatewayDefaultGuidance, c.worker(),
                    c.advertisedAt());
        }
    }

    private final KnownModels models;
    private final double defaultGuidance;

    ModelsController(KnownModels models, GatewayProperties properties) {
        this.models = models;
        this.defaultGuidance = properties.limits().defaultGuidance();
    }

    @GetMapping(produces = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<ModelsView> list() {
        return ResponseEntity.ok()
                .cacheControl(CacheControl.noStore())
                .body(new ModelsView(models.defaultModel(), models.all().stream().map(c -> ModelView.of(c, defaultGuidance)).toList()));
    }
}
