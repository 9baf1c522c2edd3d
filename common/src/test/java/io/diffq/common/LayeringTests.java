package io.diffq.common;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import org.junit.jupiter.api.Test;

/**
 * {@code common} is the contract: plain Java that depends on nothing of ours and on no framework. Inside it, the
 * records and names ({@code job}, {@code model}, {@code kafka}, {@code metrics}) do not know how they are encoded;
 * only {@code json} reads and writes them.
 */
class LayeringTests {

    private static final String COMMON = "io.diffq.common";

    static final ArchRule NO_SERVICE_NO_FRAMEWORK = noClasses().should().dependOnClassesThat()
            .resideInAnyPackage("io.diffq.gateway..", "io.diffq.worker..", "org.springframework..",
                    "org.apache.kafka..");

    static final ArchRule THE_CONTRACT_KNOWS_NOT_ITS_ENCODING = noClasses().that()
            .resideInAnyPackage("..common.job..", "..common.model..", "..common.kafka..", "..common.metrics..")
            .should().dependOnClassesThat().resideInAPackage("..common.json..")
            .because("the records are the contract; how they travel as JSON is json's business alone");

    static final ArchRule NO_CYCLES = slices().matching("io.diffq.common.(*)..").should().beFreeOfCycles();

    /** The main classes, imported once for all the tests. */
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(COMMON);

    @Test
    void commonDependsOnNoServiceAndNoFramework() {
        NO_SERVICE_NO_FRAMEWORK.check(MAIN);
    }

    @Test
    void onlyJsonKnowsTheEncoding() {
        THE_CONTRACT_KNOWS_NOT_ITS_ENCODING.check(MAIN);
        NO_CYCLES.check(MAIN);
    }

    /** The rules can fail: with one test class in {@code job} that uses {@code json}, they report it. */
    @Test
    void theRulesReportAJobClassThatUsesJson() {
        String bad = "io.diffq.common.job.JobThatImportsJson";
        JavaClasses withBadClass = new ClassFileImporter()
                .withImportOption(location -> ImportOption.Predefined.DO_NOT_INCLUDE_TESTS.includes(location)
                        || location.contains("/io/diffq/common/job/JobThatImportsJson"))
                .importPackages(COMMON);
        assertThat(withBadClass.contain(bad)).isTrue();

        for (ArchRule rule : new ArchRule[] {THE_CONTRACT_KNOWS_NOT_ITS_ENCODING, NO_CYCLES}) {
            EvaluationResult result = rule.evaluate(withBadClass);
            assertThat(result.hasViolation()).as(rule.getDescription()).isTrue();
            assertThat(result.getFailureReport().toString()).as(rule.getDescription()).contains(bad);
            assertThat(rule.evaluate(MAIN).hasViolation()).as(rule.getDescription()).isFalse();
        }
    }
}
