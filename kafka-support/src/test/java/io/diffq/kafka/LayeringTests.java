package io.diffq.kafka;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** {@code kafka-support} is plain Java on the Kafka clients: both services use it, it knows neither, nor Spring. */
class LayeringTests {

    private final JavaClasses kafkaSupport = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.diffq.kafka");

    @Test
    void dependsOnNoServiceAndNoFramework() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("io.diffq.gateway..", "io.diffq.worker..", "org.springframework..")
                .check(kafkaSupport);
    }
}
