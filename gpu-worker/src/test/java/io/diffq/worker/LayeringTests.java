package io.diffq.worker;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.equivalentTo;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import io.diffq.worker.model.tiny.data.Scene;
import org.junit.jupiter.api.Test;

/**
 * Which of the worker's feature packages may use which: the shared pipeline knows no model and no consumer,
 * models know no consumer, GPU metrics stand alone, and the tiny model's serving code never pulls in its
 * offline tooling. (That the worker never uses the gateway needs no test: the module does not depend on it.)
 */
class LayeringTests {

    private static final String WORKER = "io.diffq.worker";
    private static final String CONSUMER = WORKER + ".consumer..";
    private static final String GPU = WORKER + ".gpu..";
    private static final String MODEL = WORKER + ".model..";
    private static final String PIPELINE = WORKER + ".pipeline..";
    private static final String TINY = WORKER + ".model.tiny";

    static final ArchRule PIPELINE_KNOWS_NO_MODEL = noClasses().that().resideInAPackage(PIPELINE)
            .should().dependOnClassesThat().resideInAnyPackage(MODEL, CONSUMER)
            .because("models are built on the shared pipeline, not the reverse");

    static final ArchRule MODELS_KNOW_NO_CONSUMER = noClasses().that().resideInAPackage(MODEL)
            .should().dependOnClassesThat().resideInAPackage(CONSUMER)
            .because("a model draws a request; jobs, Kafka and events are the consumer's");

    static final ArchRule GPU_STANDS_ALONE = noClasses().that().resideInAPackage(GPU)
            .should().dependOnClassesThat().resideInAnyPackage(CONSUMER, MODEL, PIPELINE)
            .because("GPU metrics read NVML and nothing of the worker's");

    static final ArchRule SERVING_NEVER_USES_TOOLING = noClasses()
            .that().resideInAnyPackage(TINY, TINY + ".net", CONSUMER)
            .should().dependOnClassesThat().resideInAnyPackage(TINY + ".train", TINY + ".eval", TINY + ".bench")
            .because("training, evaluation and benchmarks are offline tools that use the served model");

    static final ArchRule SERVING_TAKES_ONLY_THE_PICTURE_SIZE_FROM_DATA = noClasses()
            .that().resideInAnyPackage(TINY, TINY + ".net", CONSUMER)
            .should().dependOnClassesThat(resideInAPackage(TINY + ".data").and(not(equivalentTo(Scene.class))))
            .because("the training scenes are tooling; only their size (Scene.SIZE) is the network's too");

    private static final JavaClasses WORKER_CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(WORKER);

    @Test
    void thePipelineNeverUsesAModelOrTheConsumer() {
        PIPELINE_KNOWS_NO_MODEL.check(WORKER_CLASSES);
    }

    @Test
    void modelsNeverUseTheConsumer() {
        MODELS_KNOW_NO_CONSUMER.check(WORKER_CLASSES);
    }

    @Test
    void gpuMetricsUseNoOtherFeature() {
        GPU_STANDS_ALONE.check(WORKER_CLASSES);
    }

    @Test
    void theTinyModelsServingCodeNeverUsesItsOfflineTools() {
        SERVING_NEVER_USES_TOOLING.check(WORKER_CLASSES);
        SERVING_TAKES_ONLY_THE_PICTURE_SIZE_FROM_DATA.check(WORKER_CLASSES);
    }

    @Test
    void aRuleFailsOnAClassThatBreaksIt() {
        // The pipeline's test classes include one that uses a model on purpose.
        JavaClasses pipelineWithTests = new ClassFileImporter().importPackages(WORKER + ".pipeline");

        EvaluationResult result = PIPELINE_KNOWS_NO_MODEL.evaluate(pipelineWithTests);

        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().getDetails())
                .isNotEmpty().allMatch(line -> line.contains(WORKER + ".pipeline.PipelineUsingAModel"));
    }
}
