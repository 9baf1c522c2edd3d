package io.diffq.worker;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The worker shares only {@code common} and Kafka with the gateway. */
class LayeringTests {

    private final JavaClasses worker = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.diffq.worker");

    @Test
    void theWorkerNeverDependsOnTheGateway() {
        noClasses().should().dependOnClassesThat().resideInAPackage("io.diffq.gateway..").check(worker);
    }
}
