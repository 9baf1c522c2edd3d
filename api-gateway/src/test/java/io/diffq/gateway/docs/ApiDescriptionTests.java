package io.diffq.gateway.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.diffq.common.model.ModelCard;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.models.KnownModels;
import io.diffq.gateway.models.ModelCatalog;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.Paths;
import io.swagger.v3.oas.models.media.Schema;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.util.unit.DataSize;

/** The description follows the gateway's settings, and shows what it does not describe. */
class ApiDescriptionTests {

    @Test
    void theRequestBoundsAreTheConfiguredLimitsAndTheAdvertisedModels() {
        GatewayProperties properties = properties(new GatewayProperties.Limits(300, 16, 768, 16, 256, 2, 7, 3, 12.5,
                7.5, Duration.ofMinutes(10), List.of("ddim")));
        KnownModels models = new KnownModels(ModelCatalog.of(ModelCard.of("big", 512, 64, 2048, 64, true,
                List.of("euler"))), properties);
        OpenAPI api = new OpenAPI();
        new ApiDescription(properties, models, false).describe(api);

        Map<String, Schema> fields = api.getComponents().getSchemas().get(JobSchemas.JOB_REQUEST).getProperties();
        assertThat(fields.get("prompt").getMaxLength()).isEqualTo(300);
        assertThat(fields.get("steps").getMinimum()).isEqualByComparingTo("2");
        assertThat(fields.get("steps").getMaximum()).isEqualByComparingTo("7");
        assertThat(fields.get("steps").getDefault()).isEqualTo(3);
        assertThat(fields.get("guidanceScale").getMaximum()).isEqualByComparingTo("12.5");
        assertThat(fields.get("deadlineSeconds").getMaximum()).isEqualByComparingTo("600");
        assertThat(fields.get("seed").getMaximum()).isEqualByComparingTo(BigDecimal.valueOf(4_294_967_295L));
        // The loosest of the models: the declared one's limits (16..768) and the advertised one's (64..2048).
        assertThat(fields.get("width").getMinimum()).isEqualByComparingTo("16");
        assertThat(fields.get("width").getMaximum()).isEqualByComparingTo("2048");
        assertThat(fields.get("model").getDescription()).contains("[big, declared]");
        assertThat(fields.get("scheduler").getDescription()).contains("big: [euler]");
        assertThat(api.getSecurity()).isNull();
    }

    @Test
    void anEndpointOfTheControllersThatIsNotDescribedIsKeptAndMarked() {
        OpenAPI inferred = new OpenAPI().paths(new Paths()
                .addPathItem("/v1/jobs/{id}", new PathItem().get(new Operation().operationId("inferredGet")))
                .addPathItem("/v1/new-thing", new PathItem().put(new Operation().operationId("newThing"))));
        new ApiDescription(properties(defaultLimits()), new KnownModels(ModelCatalog.of(), properties(defaultLimits())),
                true).describe(inferred);

        Operation described = inferred.getPaths().get("/v1/jobs/{id}").getGet();
        assertThat(described.getOperationId()).isEqualTo("getJob");
        assertThat(described.getExtensions()).isNull();
        Operation newThing = inferred.getPaths().get("/v1/new-thing").getPut();
        assertThat(newThing.getExtensions()).containsEntry(ApiDescription.UNDESCRIBED, true);
        assertThat(inferred.getSecurity()).hasSize(1);
    }

    private static GatewayProperties.Limits defaultLimits() {
        return new GatewayProperties.Limits(1000, 8, 1024, 8, 512, 1, 150, 20, 30, 7.5, Duration.ofHours(24),
                List.of("ddim", "euler"));
    }

    private static GatewayProperties properties(GatewayProperties.Limits limits) {
        return new GatewayProperties(Duration.ofSeconds(5), Duration.ofSeconds(8), DataSize.ofKilobytes(32),
                Duration.ofSeconds(3), DataSize.ofMegabytes(1), Duration.ofHours(24), Duration.ofMillis(5),
                new GatewayProperties.Models(List.of("declared"), "declared"), limits,
                new GatewayProperties.Streams(Duration.ofSeconds(15), Duration.ofSeconds(30), Duration.ofMinutes(30),
                        32, 4096),
                new GatewayProperties.Waits(Duration.ofSeconds(60), 32, 4096),
                null, null);
    }
}
