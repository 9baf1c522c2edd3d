package io.diffq.gateway.docs;

import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.models.KnownModels;
import io.diffq.gateway.security.SecurityProperties;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Serves the API's OpenAPI 3.1 description at {@code /v3/api-docs} and Swagger UI at {@code /swagger-ui.html}, on
 * the API's port and outside {@code /v1}, so neither needs a key. The description is rebuilt on each request
 * ({@code springdoc.cache.disabled}): the models a job may name change as workers advertise them.
 */
@Configuration(proxyBeanMethods = false)
class ApiDocsConfiguration {

    @Bean
    OpenApiCustomizer apiDescription(GatewayProperties gateway, KnownModels models, SecurityProperties security) {
        ApiDescription description = new ApiDescription(gateway, models, !security.apiKeys().isEmpty());
        return description::describe;
    }
}
