package io.diffq.worker;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Which of the worker's feature packages may use which: the shared pipeline knows no model and no consumer,
 * models know no consumer, GPU metrics stand alone, and the worker ships none of the tiny model's
 * offline tooling (its own module). (That the worker never uses the gateway needs no test: the module does not depend on it.)
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

    /** The tiny model's offline tooling: its own module, {@code tools/tiny-model}, never the worker's jar. */
    static final List<String> TOOLING = List.of(TINY + ".train", TINY + ".eval", TINY + ".bench", TINY + ".data");

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
    void theWorkerShipsNoneOfTheTinyModelsOfflineTools() {
        assertThat(WORKER_CLASSES.stream().map(JavaClass::getPackageName).filter(TOOLING::contains).distinct())
                .as("training, evaluation, benchmark and data generator live in tools/tiny-model").isEmpty();
        assertThat(WORKER_CLASSES.stream().map(JavaClass::getPackageName))
                .as("the serving code it keeps").contains(TINY, TINY + ".net");
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
