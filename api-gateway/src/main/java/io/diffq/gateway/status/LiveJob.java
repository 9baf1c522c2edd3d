package io.diffq.gateway.status;

import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;

/**
 * A job as the view holds it: its status and where its request lies in {@code diffq.jobs} ({@code -1} while not
 * read).
 */
record LiveJob(JobStatus status, int partition, long offset) {

    LiveJob with(JobStatus s) {
        return new LiveJob(s, partition, offset);
    }

    /**
     * This job with the request at {@code offset} when that is its first one (all records of one id share a
     * partition; with several, the first is the job), else this job.
     */
    LiveJob withRequest(JobRequest request, int partition, long offset) {
        if (status.request() == null || this.offset < 0 || offset < this.offset) {
            return new LiveJob(status.state() == JobState.QUEUED ? JobStatus.queued(request)
                    : status.withRequest(request), partition, offset);
        }
        return this;
    }

    /** Its entry in the queue when it waits with its request; {@code null} otherwise. */
    QueueOrder.Entry queueEntry() {
        return status.state() == JobState.QUEUED && status.request() != null && offset >= 0
                ? new QueueOrder.Entry(LiveJobs.modelOf(status), partition, offset, status.request().createdAt())
                : null;
    }
}
