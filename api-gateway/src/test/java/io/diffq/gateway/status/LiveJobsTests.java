package io.diffq.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.job.JobEvent;
import io.diffq.common.job.JobRequest;
import io.diffq.common.job.JobStatus;
import io.diffq.common.job.Progress;
import io.diffq.common.json.JobCodec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The heap's change count, which lets the queue's order be reused while nothing changed: every change moves it,
 * no read does, and nothing changes the heap around it.
 */
class LiveJobsTests {

    private static final Instant T = Instant.parse("2026-12-07T12:00:00Z");

    private final LiveJobs jobs = new LiveJobs(new JobCodec());

    @Test
    void everyChangeMovesTheCountAndNoReadDoes() {
        long start = jobs.changes();
        jobs.compute("a", (id, current) -> new LiveJob(JobStatus.queued(request("a")), 0, 10));
        jobs.put("b", new LiveJob(JobStatus.queued(request("b")), 1, 3));
        long afterTwo = jobs.changes();
        assertThat(afterTwo).isEqualTo(start + 2);

        List<QueueOrder.Entry> queued = new ArrayList<>();
        jobs.forEachQueued(queued::add);
        assertThat(queued).extracting(QueueOrder.Entry::offset).containsExactlyInAnyOrder(10L, 3L);
        assertThat(jobs.queueEntry("a")).isNotNull();
        assertThat(jobs.heap.get("b")).isNotNull();
        assertThat(jobs.changes()).as("reads").isEqualTo(afterTwo);

        // "a" starts: it leaves the queue, and the count says so.
        jobs.compute("a", (id, current) -> current.with(current.status().apply(
                JobEvent.running("a", 1, T, "w/cpu", "simulated", new Progress(0, 4), T))));
        assertThat(jobs.changes()).isEqualTo(afterTwo + 1);
        assertThat(jobs.queueEntry("a")).isNull();

        jobs.putIfAbsent("c", new LiveJob(JobStatus.queued(request("c")), 2, 0));
        jobs.computeIfPresent("c", (id, current) -> null);
        assertThat(jobs.changes()).isEqualTo(afterTwo + 3);
        assertThat(jobs.heap).containsOnlyKeys("a", "b");
    }

    @Test
    void theHeapCannotBeChangedAroundTheCount() {
        assertThatThrownBy(() -> jobs.heap.put("a", new LiveJob(JobStatus.queued(request("a")), 0, 1)))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> jobs.heap.compute("a", (id, current) -> null))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    private static JobRequest request(String id) {
        return new JobRequest(id, "job " + id, "", 32, 32, 4, 7.5, 42, "simulated", null, T, null, null);
    }
}
