package io.diffq.worker.consumer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Puts the jobs of one poll into batches the model draws together: jobs whose batch keys are equal (the same
 * model, size, steps, scheduler and guidance scale), at most {@code max} to a batch, in the order acquired. A
 * share group hands out records one by one, so no job waits behind an earlier job of its partition: a job that
 * cannot join a batch starts one of its own, and so does a job delivered again.
 */
final class Batches {

    private final int max;
    private final Function<ConsumerRecord<String, byte[]>, Object> key;

    Batches(int max, Function<ConsumerRecord<String, byte[]>, Object> key) {
        if (max < 1) {
            throw new IllegalArgumentException("a batch takes at least one job");
        }
        this.max = max;
        this.key = key;
    }

    /** An empty set of batches to add one poll's jobs to. */
    Forming forming() {
        return new Forming();
    }

    /** The batches of one poll, being formed. */
    final class Forming {

        private final Map<Object, List<List<JobLoop.Job>>> byKey = new LinkedHashMap<>();

        /**
         * Adds a job to the batch of its key, or starts one. A job on a later attempt runs alone: if a batch it
         * was in failed, the job that broke it costs the others one attempt, not all of them.
         */
        void add(JobLoop.Job job) {
            Object k0 = max == 1 || job.attempt() > 1 ? job : key.apply(job.record());
            List<List<JobLoop.Job>> open = byKey.computeIfAbsent(k0, k -> new ArrayList<>());
            if (open.isEmpty() || open.get(open.size() - 1).size() >= max) {
                open.add(new ArrayList<>());
            }
            open.get(open.size() - 1).add(job);
        }

        /** The batches, each in the order its jobs were added, the batch of the first job first. */
        List<List<JobLoop.Job>> batches() {
            List<List<JobLoop.Job>> all = new ArrayList<>();
            byKey.values().forEach(all::addAll);
            return all;
        }
    }
}
