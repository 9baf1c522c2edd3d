package io.diffq.chaos;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the topics hold after a campaign, read with a plain consumer: the checker's second source besides the
 * history.
 *
 * @param written       {@code diffq.job-events} per job, in partition order: every event written
 * @param events        the same less the late writes: what the checks read
 * @param lateWrites    events of an older attempt written after a newer attempt's (a worker that lost the job,
 *                      paused past its lock, whose write was already in its producer): every reader refuses
 *                      them, and {@link CompactionCheck} checks that compaction does not let one win
 * @param compacted     per job, the events a fully compacted {@code diffq.job-events} would keep: the last of
 *                      each key, in partition order
 * @param deadLettered  the keys on {@code diffq.jobs.dlt}
 * @param resultHashes  SHA-256 of every {@code diffq.results} record per job, in order (a redelivered job has several)
 * @param firstPrompts  the prompt of the first {@code diffq.jobs} record of each job id: the request that is the job
 */
record TopicContents(Map<String, List<JobEvent>> written, Map<String, List<JobEvent>> events,
        List<JobEvent> lateWrites, Map<String, List<JobEvent>> compacted, Set<String> deadLettered,
        Map<String, List<String>> resultHashes, Map<String, String> firstPrompts) {

    /** One record of {@code diffq.job-events}. */
    record Keyed(String key, JobEvent event) {
    }

    /**
     * @param log the events topic record by record, in partition order (a job's records share a partition)
     */
    static TopicContents of(List<Keyed> log, Set<String> deadLettered, Map<String, List<String>> resultHashes,
            Map<String, String> firstPrompts) {
        Map<String, Integer> lastOfKey = new HashMap<>();
        for (int i = 0; i < log.size(); i++) {
            lastOfKey.put(log.get(i).key(), i);
        }
        Map<String, List<JobEvent>> written = new LinkedHashMap<>();
        Map<String, List<JobEvent>> events = new LinkedHashMap<>();
        Map<String, List<JobEvent>> compacted = new LinkedHashMap<>();
        Map<String, Integer> newestAttempt = new HashMap<>();
        List<JobEvent> late = new ArrayList<>();
        for (int i = 0; i < log.size(); i++) {
            JobEvent e = log.get(i).event();
            String id = e.jobId();
            written.computeIfAbsent(id, k -> new ArrayList<>()).add(e);
            if (e.attempt() < newestAttempt.getOrDefault(id, 0)) {
                late.add(e);
            } else {
                events.computeIfAbsent(id, k -> new ArrayList<>()).add(e);
                newestAttempt.put(id, e.attempt());
            }
            if (lastOfKey.get(log.get(i).key()) == i) {
                compacted.computeIfAbsent(id, k -> new ArrayList<>()).add(e);
            }
        }
        return new TopicContents(written, events, late, compacted, deadLettered, resultHashes, firstPrompts);
    }

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
