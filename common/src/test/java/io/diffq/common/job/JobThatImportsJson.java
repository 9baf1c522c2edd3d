package io.diffq.common.job;

import io.diffq.common.json.JobCodec;

/**
 * Breaks a layering rule on purpose: a contract record's package using the JSON codec. Test-only, used by nothing
 * but {@code LayeringTests}, which shows that its rule reports it.
 */
final class JobThatImportsJson {

    private JobThatImportsJson() {
    }

    static JobCodec codec() {
        return new JobCodec();
    }
}
