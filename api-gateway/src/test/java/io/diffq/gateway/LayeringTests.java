package io.diffq.gateway;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The gateway shares only {@code common} and Kafka with the worker. */
class LayeringTests {

    private final JavaClasses gateway = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.diffq.gateway");

    @Test
    void theGatewayNeverDependsOnTheWorker() {
        noClasses().should().dependOnClassesThat().resideInAPackage("io.diffq.worker..").check(gateway);
    }
}
