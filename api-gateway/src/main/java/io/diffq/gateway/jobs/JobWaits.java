package io.diffq.gateway.jobs;

import io.diffq.common.job.JobStatus;
import io.diffq.common.metrics.MetricNames;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.status.JobStatusView;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;
import org.springframework.web.context.request.async.DeferredResult;

/**
 * Submits that wait for their job ({@code Prefer: wait=N}, RFC 7240). A wait is a {@link DeferredResult}
 * completed by the status view's watcher when the job reaches a terminal state, or by the container's async
 * timeout: the request's thread goes back to the pool at once, so a thousand waits hold a thousand sockets
 * and no thread. Waits are capped per client and per instance; past a cap a submit is answered at once.
 */
@Component
class JobWaits {

    /** The request header a client states its preferences in. */
    static final String PREFER = "Prefer";
    /** The response header that says which preference the answer honoured. */
    static final String PREFERENCE_APPLIED = "Preference-Applied";

    private final JobStatusView view;
    private final GatewayProperties.Waits limits;
    private final ClientSlots slots;

    JobWaits(JobStatusView view, GatewayProperties properties, MeterRegistry meters) {
        this.view = view;
        this.limits = properties.waits();
        this.slots = new ClientSlots(limits.maxPerClient(), limits.maxTotal());
        Gauge.builder(MetricNames.WAITS_OPEN, slots.total(), AtomicInteger::get)
                .description("Submits waiting for their job to finish (Prefer: wait)")
                .register(meters);
    }

    /**
     * The {@code wait} preference among the {@code Prefer} headers, in seconds: the first {@code wait=N} with
     * N a non-negative integer (quoted or not). Preferences this gateway does not know, and a {@code wait}
     * it cannot read, are ignored, as RFC 7240 asks.
     */
    static OptionalLong requestedWait(List<String> headers) {
        if (headers == null) {
            return OptionalLong.empty();
        }
        for (String header : headers) {
            for (String preference : header.split(",")) {
                // A preference's parameters follow ';': "wait=10; foo" — only the token=value counts.
                String head = preference.split(";", 2)[0].strip();
                int eq = head.indexOf('=');
                if (eq < 0 || !head.substring(0, eq).strip().toLowerCase(Locale.ROOT).equals("wait")) {
                    continue;
                }
                String value = head.substring(eq + 1).strip();
                if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                    value = value.substring(1, value.length() - 1);
                }
                if (!value.isEmpty() && value.length() <= 9 && value.chars().allMatch(Character::isDigit)) {
                    return OptionalLong.of(Long.parseLong(value));
                }
            }
        }
        return OptionalLong.empty();
    }

    /** The wait granted for a request of {@code seconds}: cut to {@code waits.max}. */
    Duration granted(long seconds) {
        return Duration.ofSeconds(Math.min(seconds, limits.max().toSeconds()));
    }

    /**
     * Waits up to {@code wait} for job {@code id} to finish.
     *
     * @param finished the answer once it finished, given its terminal status
     * @param pending  the answer when it did not finish in time
     * @return the deferred answer, or empty when {@code client} or the instance holds as many waits as allowed
     */
    Optional<DeferredResult<ResponseEntity<?>>> await(String id, String client, Duration wait,
            Function<JobStatus, ResponseEntity<?>> finished, Supplier<ResponseEntity<?>> pending) {
        if (slots.acquire(client) != ClientSlots.Outcome.ACQUIRED) {
            return Optional.empty();
        }
        DeferredResult<ResponseEntity<?>> result = new DeferredResult<>(wait.toMillis());
        AtomicBoolean released = new AtomicBoolean();
        Runnable[] unwatch = {() -> { }};
        Runnable done = () -> {
            unwatch[0].run();
            if (released.compareAndSet(false, true)) {
                slots.release(client);
            }
        };
        result.onTimeout(() -> result.setResult(pending.get()));
        result.onCompletion(done);
        result.onError(e -> done.run());
        unwatch[0] = view.watch(id, s -> {
            if (s.state().isTerminal()) {
                result.setResult(finished.apply(s));
            }
        });
        // It may have finished between the submit and the watch.
        view.peek(id).filter(s -> s.state().isTerminal()).ifPresent(s -> result.setResult(finished.apply(s)));
        if (result.isSetOrExpired()) {
            done.run();
        }
        return Optional.of(result);
    }
}
