package io.diffq.chaos;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the topics hold after a campaign, read with a plain consumer: the checker's second source besides the
 * history.
 *
 * @param events        {@code diffq.job-events} per job, in partition order
 * @param deadLettered  the keys on {@code diffq.jobs.dlt}
 * @param resultHashes  SHA-256 of every {@code diffq.results} record per job, in order (a redelivered job has several)
 * @param firstPrompts  the prompt of the first {@code diffq.jobs} record of each job id: the request that is the job
 */
record TopicContents(Map<String, List<JobEvent>> events, Set<String> deadLettered,
        Map<String, List<String>> resultHashes, Map<String, String> firstPrompts) {

    List<JobEvent> eventsOf(String jobId) {
        return events.getOrDefault(jobId, List.of());
    }

    /** The first terminal state on the topic: the one every gateway must show. */
    Optional<JobEvent> terminal(String jobId) {
        return eventsOf(jobId).stream().filter(e -> e.state().isTerminal()).findFirst();
    }

    /** The first {@code RUNNING} event of a job, if any worker started it. */
    Optional<JobEvent> firstRunning(String jobId) {
        return eventsOf(jobId).stream().filter(e -> e.state() == JobState.RUNNING).findFirst();
    }
}
