package io.diffq.gateway.jobs;

import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One client's server-sent event stream of one job, written with the servlet's non-blocking output: a write
 * happens only while the socket takes data, so no thread ever waits on a client. What the client has not
 * taken yet coalesces to the latest status (a client that reads slowly skips intermediate progress, never
 * the terminal state). The status view only {@link #offer offers}; the writes run on the writer executor
 * or on the container's thread when the socket drains.
 */
final class StatusStream implements WriteListener, AsyncListener {

    /** Why a stream ended; a metric tag and, where the client can still read it, the {@code closed} event. */
    enum Reason {
        /** The job reached its terminal state, which was the last event. */
        FINISHED("finished"),
        /** The client did not take what was written within the stall timeout. */
        STALLED("stalled"),
        /** The connection failed or the client went away. */
        CLIENT_GONE("client-gone"),
        /** The stream was open for the longest time a stream may be. */
        MAX_DURATION("max-duration"),
        /** The gateway is shutting down. */
        SHUTDOWN("shutdown");

        final String tag;

        Reason(String tag) {
            this.tag = tag;
        }
    }

    private static final byte[] HEARTBEAT = ":\n\n".getBytes(StandardCharsets.US_ASCII);

    /** The request header of a client that reconnects, naming the last event it received. */
    static final String LAST_EVENT_ID = "Last-Event-ID";

    /**
     * One status event.
     *
     * @param id   what the client sends back as {@code Last-Event-ID} when it reconnects: it names the
     *             status shown (attempt, state, step, queue position), the same on every gateway, so a
     *             client that reconnects to any of them is not sent again what it has
     * @param data the event's {@code data}: one line of JSON
     */
    record Event(String id, byte[] data) {
    }

    private final AsyncContext async;
    private final ServletOutputStream out;
    private final Function<JobStatus, Event> render;
    private final Executor writer;
    private final Consumer<Reason> onClose;
    private final AtomicReference<JobStatus> pending = new AtomicReference<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicBoolean ended = new AtomicBoolean();
    private final long openedAt = System.nanoTime();
    /** The job's id. */
    private final String jobId;
    /** The id of the last status event the client has (written under the lock). */
    private String lastId;
    /** The state of the latest status offered. */
    private volatile JobState lastState;

    private volatile boolean heartbeatDue;
    private volatile long lastWriteAt = openedAt;
    /** Since when the socket has not taken what was written; 0 while it takes data (written under the lock). */
    private volatile long blockedSince;
    /** The reason to end with once what is pending is written (guarded by this). */
    private Reason closing;

    /**
     * @param jobId       the job streamed
     * @param lastEventId the {@code Last-Event-ID} the client reconnected with, or {@code null}: an event with
     *                    this id is not sent again
     * @param render      a status as an event
     * @param onClose     called once, with the reason, when the stream ends
     */
    StatusStream(AsyncContext async, ServletOutputStream out, String jobId, String lastEventId,
            Function<JobStatus, Event> render, Executor writer, Consumer<Reason> onClose) {
        this.async = async;
        this.jobId = jobId;
        this.lastId = lastEventId;
        this.out = out;
        this.render = render;
        this.writer = writer;
        this.onClose = onClose;
    }

    /** The job's latest status; replaces one the client has not been sent yet. Never blocks. */
    void offer(JobStatus status) {
        lastState = status.state();
        pending.set(status);
        schedule();
    }

    /** The job this stream shows. */
    String jobId() {
        return jobId;
    }

    /** Whether the latest status offered was {@code QUEUED}: then its place in the queue may change without an event. */
    boolean waiting() {
        return lastState == JobState.QUEUED;
    }

    /**
     * Called now and then by the stream registry: closes a stalled or too old stream and sends a heartbeat
     * when it is due.
     */
    void tick(long now, long heartbeatNanos, long stallNanos, long maxDurationNanos) {
        long blocked = blockedSince;
        if (blocked != 0 && now - blocked > stallNanos) {
            // The client cannot even be told: the stream ends now, whatever is pending.
            end(Reason.STALLED);
        } else if (now - openedAt > maxDurationNanos) {
            close(Reason.MAX_DURATION);
        } else if (now - lastWriteAt >= heartbeatNanos) {
            heartbeatDue = true;
            schedule();
        }
    }

    /** Ends the stream after what is pending, with a {@code closed} event naming the reason. */
    void close(Reason reason) {
        synchronized (this) {
            if (closing == null) {
                closing = reason;
            }
        }
        schedule();
    }

    private void schedule() {
        if (!ended.get() && scheduled.compareAndSet(false, true)) {
            try {
                writer.execute(() -> {
                    scheduled.set(false);
                    drain();
                });
            } catch (RejectedExecutionException shuttingDown) {
                end(Reason.SHUTDOWN);
            }
        }
    }

    /** Writes what is pending while the socket takes it. */
    private synchronized void drain() {
        if (ended.get()) {
            return;
        }
        try {
            while (out.isReady()) {
                blockedSince = 0;
                JobStatus status = pending.getAndSet(null);
                boolean last;
                if (status != null) {
                    Event event = render.apply(status);
                    last = status.state().isTerminal();
                    if (last) {
                        closing = Reason.FINISHED;
                    }
                    if (event.id().equals(lastId)) {
                        // The client has this one (it reconnected with its id, or only the queue's clock moved).
                        if (last) {
                            end(closing);
                            return;
                        }
                        continue;
                    }
                    lastId = event.id();
                    out.write(frame("status", event.id(), event.data()));
                } else if (closing != null) {
                    if (closing != Reason.FINISHED) {
                        out.write(frame("closed", null, ("{\"reason\":\"" + closing.tag + "\"}")
                                .getBytes(StandardCharsets.UTF_8)));
                    }
                    last = true;
                } else if (heartbeatDue) {
                    heartbeatDue = false;
                    out.write(HEARTBEAT);
                    last = false;
                } else {
                    break;
                }
                lastWriteAt = System.nanoTime();
                if (last) {
                    end(closing);
                    return;
                }
                if (out.isReady()) {
                    out.flush();
                }
            }
            if (!out.isReady() && blockedSince == 0) {
                blockedSince = System.nanoTime();
            }
        } catch (IOException | IllegalStateException e) {
            end(Reason.CLIENT_GONE);
        }
    }

    /**
     * Ends the stream once. Under the same lock as every use of the output stream: once the container has
     * signalled an error or completion it recycles the response for another connection, so no write of ours
     * may still be under way, or come later.
     */
    private synchronized void end(Reason reason) {
        if (ended.compareAndSet(false, true)) {
            onClose.accept(reason);
            try {
                async.complete();
            } catch (IllegalStateException alreadyDone) {
                // the container ended it first (error or timeout)
            }
        }
    }

    private static byte[] frame(String event, String id, byte[] data) {
        byte[] head = ("event: " + event + "\n" + (id == null ? "" : "id: " + id + "\n") + "data: ")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] frame = new byte[head.length + data.length + 2];
        System.arraycopy(head, 0, frame, 0, head.length);
        System.arraycopy(data, 0, frame, head.length, data.length);
        frame[frame.length - 2] = '\n';
        frame[frame.length - 1] = '\n';
        return frame;
    }

    @Override
    public void onWritePossible() {
        drain();
    }

    @Override
    public void onError(Throwable t) {
        end(Reason.CLIENT_GONE);
    }

    @Override
    public void onComplete(AsyncEvent event) {
        end(Reason.CLIENT_GONE);
    }

    @Override
    public void onTimeout(AsyncEvent event) {
        end(Reason.MAX_DURATION);
    }

    @Override
    public void onError(AsyncEvent event) {
        end(Reason.CLIENT_GONE);
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
        // not restarted
    }
}
