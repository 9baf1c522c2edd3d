package io.diffq.gateway.jobs;

import io.diffq.common.job.JobStatus;
import io.diffq.common.metrics.MetricNames;
import io.diffq.gateway.GatewayProperties;
import io.diffq.gateway.status.JobStatusView;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.springframework.context.SmartLifecycle;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code GET /v1/jobs/{id}/events}: the job's status as server-sent events — the current one at once, then
 * the latest after each change (state, progress), ending after the terminal state. Streams are capped per
 * client and per instance ({@code 429} beyond), sent a heartbeat when quiet, and closed when their client
 * stops reading; see {@link StatusStream} for how one stream is written.
 */
@Component
class JobStreams implements SmartLifecycle {

    private final JobStatusView view;
    private final JsonMapper json;
    private final GatewayProperties.Streams limits;
    private final Set<StatusStream> open = ConcurrentHashMap.newKeySet();
    private final ClientSlots slots;
    private final Map<StatusStream.Reason, Counter> closed = new EnumMap<>(StatusStream.Reason.class);
    private final ExecutorService writer = Executors.newSingleThreadExecutor(daemon("diffq-stream-writer"));
    private final ScheduledExecutorService ticker =
            Executors.newSingleThreadScheduledExecutor(daemon("diffq-stream-ticker"));
    private volatile boolean running;
    /** How often a waiting job's stream is sent its place in the queue, when it changed. */
    static final Duration QUEUE_REFRESH = Duration.ofSeconds(1);
    private long lastRefresh;

    JobStreams(JobStatusView view, JsonMapper json, GatewayProperties properties, MeterRegistry meters) {
        this.view = view;
        this.json = json;
        this.limits = properties.streams();
        this.slots = new ClientSlots(limits.maxPerClient(), limits.maxTotal());
        Gauge.builder(MetricNames.STREAMS_OPEN, slots.total(), AtomicInteger::get)
                .description("Open server-sent event streams of job status")
                .register(meters);
        for (StatusStream.Reason reason : StatusStream.Reason.values()) {
            closed.put(reason, Counter.builder(MetricNames.STREAMS_CLOSED)
                    .description("Server-sent event streams closed, by why")
                    .tag(MetricNames.TAG_REASON, reason.tag)
                    .register(meters));
        }
    }

    /**
     * Starts the stream of {@code current}'s job on this request, or answers {@code 429} past a cap.
     *
     * @param lastEventId the client's {@code Last-Event-ID} when it reconnects, or {@code null}
     */
    void open(JobStatus current, String client, Function<JobStatus, JobView> render, String lastEventId,
            HttpServletRequest request, HttpServletResponse response) throws IOException {
        reserve(client);
        response.setContentType(MediaType.TEXT_EVENT_STREAM_VALUE);
        response.setCharacterEncoding("UTF-8");
        response.setHeader(HttpHeaders.CACHE_CONTROL, CacheControl.noStore().getHeaderValue());
        // Tells nginx-style proxies not to buffer the stream.
        response.setHeader("X-Accel-Buffering", "no");
        AsyncContext async = request.startAsync(request, response);
        // The ticker ends a stream at max-duration; the container's timeout is only a backstop.
        async.setTimeout(limits.maxDuration().plus(limits.heartbeat()).toMillis());
        ServletOutputStream out = response.getOutputStream();
        StatusStream[] self = new StatusStream[1];
        Runnable[] unwatch = {() -> { }};
        StatusStream stream = new StatusStream(async, out, current.id(), eventIdOf(lastEventId), s -> {
                    JobView v = render.apply(s);
                    return new StatusStream.Event(eventId(v), json.writeValueAsBytes(v));
                }, writer,
                reason -> {
                    unwatch[0].run();
                    open.remove(self[0]);
                    release(client);
                    closed.get(reason).increment();
                });
        self[0] = stream;
        open.add(stream);
        async.addListener(stream);
        // Non-blocking output from here on: the stream writes only while the socket takes data.
        out.setWriteListener(stream);
        unwatch[0] = view.watch(current.id(), stream::offer);
        // Whatever changed between the lookup and the watch is in the view now: send that, not the lookup.
        stream.offer(view.find(current.id()).orElse(current));
    }

    /**
     * A status event's id: attempt, state, step and queue position, so that it changes exactly when what the
     * client sees does, and a client reconnecting with it (to any gateway) is sent only what it has not seen.
     */
    static String eventId(JobView v) {
        return v.attempt() + "." + v.state() + "." + (v.progress() == null ? 0 : v.progress().step()) + "."
                + (v.queue() == null ? "-" : String.valueOf(v.queue().position()));
    }

    /** The header as an id this gateway could have sent, or {@code null}: nothing else is compared or echoed. */
    private static String eventIdOf(String header) {
        return header != null && header.length() <= 64 && header.matches("[0-9A-Za-z.-]+") ? header : null;
    }

    /** Counts one more stream of {@code client}, or throws when it or the instance is at its cap. */
    private void reserve(String client) {
        switch (slots.acquire(client)) {
            case CLIENT_FULL -> throw new TooManyStreamsException("this client has " + limits.maxPerClient()
                    + " open event streams, its limit; close one, or poll GET /v1/jobs/{id}", limits.heartbeat());
            case INSTANCE_FULL -> throw new TooManyStreamsException("this gateway instance has " + limits.maxTotal()
                    + " open event streams, its limit", limits.heartbeat());
            case ACQUIRED -> {
            }
        }
    }

    private void release(String client) {
        slots.release(client);
    }

    private void tick() {
        long now = System.nanoTime();
        long heartbeat = limits.heartbeat().toNanos();
        long stall = limits.stallTimeout().toNanos();
        long max = limits.maxDuration().toNanos();
        // A waiting job moves up the queue without an event of its own: show its place now and then.
        boolean refresh = now - lastRefresh >= QUEUE_REFRESH.toNanos();
        if (refresh) {
            lastRefresh = now;
        }
        for (StatusStream s : open) {
            s.tick(now, heartbeat, stall, max);
            if (refresh && s.waiting()) {
                view.peek(s.jobId()).ifPresent(s::offer);
            }
        }
    }

    @Override
    public void start() {
        long period = Math.max(50, Math.min(1000,
                Math.min(limits.heartbeat().toMillis(), limits.stallTimeout().toMillis()) / 4));
        ticker.scheduleWithFixedDelay(this::tick, period, period, TimeUnit.MILLISECONDS);
        running = true;
    }

    /** Ends every stream with {@code closed: shutdown}, so a graceful shutdown does not wait for them. */
    @Override
    public void stop() {
        running = false;
        open.forEach(s -> s.close(StatusStream.Reason.SHUTDOWN));
        ticker.shutdownNow();
        writer.shutdown();
        try {
            writer.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
