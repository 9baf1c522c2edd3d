package io.diffq.worker.pipeline;

import io.diffq.worker.model.ModelException;

/**
 * Breaks {@code LayeringTests}' pipeline rule on purpose, so that a test can show the rule fails; it lives in
 * the test sources only, which the real checks leave out.
 */
final class PipelineUsingAModel {

    private PipelineUsingAModel() {
    }

    static RuntimeException fail() {
        return new ModelException("layering", "the pipeline must not know a model");
    }
}
