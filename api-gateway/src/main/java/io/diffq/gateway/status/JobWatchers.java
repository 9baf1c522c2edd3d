package io.diffq.gateway.status;

import io.diffq.common.job.JobStatus;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/** Who watches which job: each is called, on the view's thread, with every change of it. */
final class JobWatchers {

    private final Map<String, Set<Consumer<JobStatus>>> watchers = new ConcurrentHashMap<>();

    /** @return a handle that stops the calls */
    Runnable watch(String id, Consumer<JobStatus> watcher) {
        watchers.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(watcher);
        return () -> watchers.computeIfPresent(id, (k, set) -> {
            set.remove(watcher);
            return set.isEmpty() ? null : set;
        });
    }

    void changed(String id, JobStatus now) {
        Set<Consumer<JobStatus>> watching = watchers.get(id);
        if (watching != null) {
            watching.forEach(w -> w.accept(now));
        }
    }
}
