package io.diffq.common;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** {@code common} is the contract: plain Java that depends on nothing of ours and on no framework. */
class LayeringTests {

    private final JavaClasses common = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.diffq.common");

    @Test
    void commonDependsOnNoServiceAndNoFramework() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("io.diffq.gateway..", "io.diffq.worker..", "org.springframework..",
                        "org.apache.kafka..")
                .check(common);
    }
}
