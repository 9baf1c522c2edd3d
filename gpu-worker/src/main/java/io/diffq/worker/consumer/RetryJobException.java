package io.diffq.worker.consumer;

import io.diffq.common.job.JobFailure;

/** A delivery failed in a way another attempt may fix: the container delivers the job again. */
class RetryJobException extends RuntimeException {

    RetryJobException(String jobId, int attempt, JobFailure failure) {
        super("job " + jobId + " attempt " + attempt + " failed (" + failure.type() + ": " + failure.message()
                + "); it will be delivered again");
    }
}
