package io.diffq.gateway.status;

import io.diffq.gateway.jobs.JobNotFoundException;

/**
 * Breaks a layering rule on purpose: the status view using a class of {@code jobs}. Test-only, used by nothing
 * but {@code LayeringTests}, which shows that its rules report it.
 */
final class StatusThatImportsJobs {

    private StatusThatImportsJobs() {
    }

    static RuntimeException unknown(String id) {
        return new JobNotFoundException(id);
    }
}
