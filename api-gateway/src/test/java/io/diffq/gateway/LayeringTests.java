package io.diffq.gateway;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import org.junit.jupiter.api.Test;
import org.springframework.web.bind.annotation.RestController;

/**
 * How the gateway's feature packages may use each other. From the bottom: the root package (settings,
 * {@link ApiClient}) and {@code kafka} (broker plumbing) use no feature; {@code status} (the job-status view) uses
 * only those; {@code queue} uses {@code status}, {@code models} uses {@code kafka}; {@code webhooks} uses {@code status} (and
 * asks {@code jobs} for the job's view through an interface of its own); {@code jobs} uses them all;
 * {@code web} (the advice and error pages) maps the features' exceptions; {@code security} (the key filter) writes
 * its answers with {@code web}'s problem writer; {@code docs} (the OpenAPI description) reads the settings of
 * them all and nothing reads it. Nothing points back up, so there is no cycle.
 */
class LayeringTests {

    private static final String GATEWAY = "io.diffq.gateway";
    private static final String[] FEATURES = {"..gateway.jobs..", "..gateway.status..", "..gateway.queue..",
            "..gateway.models..", "..gateway.web..", "..gateway.security..", "..gateway.webhooks..", "..gateway.docs..",
            "..gateway.lanes.."};

    static final ArchRule NO_CYCLES = slices().matching("io.diffq.gateway.(*)..").should().beFreeOfCycles();

    static final ArchRule STATUS_USES_NO_FEATURE = noClasses().that().resideInAPackage("..gateway.status..")
            .should().dependOnClassesThat().resideInAnyPackage("..gateway.jobs..", "..gateway.queue..",
                    "..gateway.models..", "..gateway.web..", "..gateway.security..", "..gateway.webhooks..", "..gateway.docs..")
            .because("the job-status view is read by jobs and queue, and knows neither");

    static final ArchRule KAFKA_USES_NO_FEATURE = noClasses().that().resideInAPackage("..gateway.kafka..")
            .should().dependOnClassesThat().resideInAnyPackage(FEATURES)
            .because("the broker plumbing serves every feature and knows none");

    static final ArchRule ROOT_USES_NO_FEATURE = noClasses().that().resideInAPackage(GATEWAY)
            .should().dependOnClassesThat().resideInAnyPackage(FEATURES)
            .orShould().dependOnClassesThat().resideInAPackage("..gateway.kafka..")
            .because("settings and the client's name are shared by all packages");

    static final ArchRule ONLY_WEB_KNOWS_JOBS = noClasses().that()
            .resideOutsideOfPackages("..gateway.jobs..", "..gateway.web..", "..gateway.docs..")
            .should().dependOnClassesThat().resideInAPackage("..gateway.jobs..")
            .because("jobs is the top feature: only the exception advice in web maps its exceptions (and the "
                    + "API description reads the parser's bounds)");

    static final ArchRule ONLY_SECURITY_USES_WEB = noClasses().that()
            .resideOutsideOfPackages("..gateway.web..", "..gateway.security..", "..gateway.docs..")
            .should().dependOnClassesThat().resideInAnyPackage("..gateway.web..", "..gateway.security..")
            .because("the features throw typed exceptions; web and security turn them into HTTP answers (which "
                    + "the API description describes)");

    static final ArchRule NOTHING_USES_DOCS = noClasses().that().resideOutsideOfPackage("..gateway.docs..")
            .should().dependOnClassesThat().resideInAPackage("..gateway.docs..")
            .because("the API description is a leaf: it describes the features and serves none");

    static final ArchRule NOTHING_USES_A_CONTROLLER = noClasses().that().areNotAnnotatedWith(RestController.class)
            .should().dependOnClassesThat().areAnnotatedWith(RestController.class)
            .because("controllers are entry points: helpers, filters and the advice never call one");

    static final ArchRule CONTROLLERS_ARE_PACKAGE_PRIVATE = classes().that().areAnnotatedWith(RestController.class)
            .should().notBePublic();

    /** The main classes, imported once for all the tests. */
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(GATEWAY);

    @Test
    void theGatewayNeverDependsOnTheWorker() {
        noClasses().should().dependOnClassesThat().resideInAPackage("io.diffq.worker..").check(MAIN);
    }

    @Test
    void featurePackagesFormNoCycle() {
        NO_CYCLES.check(MAIN);
    }

    @Test
    void statusKafkaAndTheRootUseNoFeature() {
        STATUS_USES_NO_FEATURE.check(MAIN);
        KAFKA_USES_NO_FEATURE.check(MAIN);
        ROOT_USES_NO_FEATURE.check(MAIN);
    }

    @Test
    void onlyTheHttpEdgeKnowsJobsWebAndSecurity() {
        ONLY_WEB_KNOWS_JOBS.check(MAIN);
        ONLY_SECURITY_USES_WEB.check(MAIN);
        NOTHING_USES_DOCS.check(MAIN);
    }

    @Test
    void controllersAreEntryPointsOnly() {
        NOTHING_USES_A_CONTROLLER.check(MAIN);
        CONTROLLERS_ARE_PACKAGE_PRIVATE.check(MAIN);
    }

    /** The rules can fail: with one test class in {@code status} that uses {@code jobs}, they report it. */
    @Test
    void theRulesReportAStatusClassThatUsesJobs() {
        String bad = "io.diffq.gateway.status.StatusThatImportsJobs";
        JavaClasses withBadClass = new ClassFileImporter()
                .withImportOption(location -> ImportOption.Predefined.DO_NOT_INCLUDE_TESTS.includes(location)
                        || location.contains("/io/diffq/gateway/status/StatusThatImportsJobs"))
                .importPackages(GATEWAY);
        assertThat(withBadClass.contain(bad)).isTrue();

        for (ArchRule rule : new ArchRule[] {STATUS_USES_NO_FEATURE, ONLY_WEB_KNOWS_JOBS, NO_CYCLES}) {
            EvaluationResult result = rule.evaluate(withBadClass);
            assertThat(result.hasViolation()).as(rule.getDescription()).isTrue();
            assertThat(result.getFailureReport().toString()).as(rule.getDescription()).contains(bad);
            assertThat(rule.evaluate(MAIN).hasViolation()).as(rule.getDescription()).isFalse();
        }
    }
}
