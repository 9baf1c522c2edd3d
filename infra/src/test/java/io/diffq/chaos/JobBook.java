package io.diffq.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** The jobs the clients were answered for, with their owners: what later polls, cancels and fetches pick from. */
final class JobBook {

    /** A job and the API key it belongs to. */
    record Job(String id, String apiKey) {
    }

    private final List<Job> jobs = new ArrayList<>();
    private final List<Job> succeeded = new ArrayList<>();

    synchronized void accepted(String id, String apiKey) {
        jobs.add(new Job(id, apiKey));
    }

    synchronized void succeeded(String id, String apiKey) {
        succeeded.add(new Job(id, apiKey));
    }

    /** Any job answered so far, or {@code null}. */
    synchronized Job any(SplittableRandom random) {
        return jobs.isEmpty() ? null : jobs.get(random.nextInt(jobs.size()));
    }

    /** One of the latest jobs (likely still queued or running), or {@code null}. */
    synchronized Job recent(SplittableRandom random) {
        return jobs.isEmpty() ? null : jobs.get(Math.max(0, jobs.size() - 1 - random.nextInt(8)));
    }

    /** A job some answer showed {@code SUCCEEDED}, else any job, or {@code null}. */
    synchronized Job finished(SplittableRandom random) {
        return succeeded.isEmpty() ? any(random) : succeeded.get(random.nextInt(succeeded.size()));
    }

    synchronized List<Job> all() {
        return List.copyOf(jobs);
    }
}
