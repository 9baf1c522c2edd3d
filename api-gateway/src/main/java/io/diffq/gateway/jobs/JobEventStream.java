package io.diffq.gateway.jobs;

import io.diffq.common.job.JobStatus;
import io.diffq.gateway.status.JobStatusView;
import java.io.IOException;
import java.time.Duration;
import java.util.function.Function;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * {@code GET /v1/jobs/{id}/events}: the job's status as server-sent events — the current one at once,
 * then one per change (state, progress), ending after the terminal state.
 */
@Component
class JobEventStream {

    private static final Duration TIMEOUT = Duration.ofMinutes(30);

    private final JobStatusView view;

    JobEventStream(JobStatusView view) {
        this.view = view;
    }

    SseEmitter open(JobStatus current, Function<JobStatus, JobView> render) {
        SseEmitter emitter = new SseEmitter(TIMEOUT.toMillis());
        Runnable[] stop = new Runnable[1];
        stop[0] = view.watch(current.id(), s -> send(emitter, s, render, stop[0]));
        emitter.onCompletion(() -> stop[0].run());
        emitter.onTimeout(() -> stop[0].run());
        emitter.onError(e -> stop[0].run());
        // Whatever changed between the lookup and the watch is in the view now: send that, not the lookup.
        send(emitter, view.find(current.id()).orElse(current), render, stop[0]);
        return emitter;
    }

    private static void send(SseEmitter emitter, JobStatus s, Function<JobStatus, JobView> render, Runnable stop) {
        try {
            emitter.send(SseEmitter.event().name("status").data(render.apply(s), MediaType.APPLICATION_JSON));
            if (s.state().isTerminal()) {
                stop.run();
                emitter.complete();
            }
        } catch (IOException | IllegalStateException gone) {
            // the client left, or the stream already ended
            stop.run();
        }
    }
}
