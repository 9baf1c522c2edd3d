package io.diffq.worker.model.simulated;

import io.diffq.common.model.ModelCard;
import io.diffq.common.model.SimulatedJobTime;
import io.diffq.worker.model.DiffusionModel;
import io.diffq.worker.model.Drawing;
import io.diffq.worker.model.GenerationRequest;
import io.diffq.worker.model.ModelException;
import io.diffq.worker.model.simulated.SimulatedModelProperties.Spread;
import io.diffq.worker.pipeline.Schedulers;
import io.diffq.worker.pipeline.StepListener;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * A stand-in for a diffusion model, for load and fault tests of the queue: it waits a configured time,
 * step by step, and draws a deterministic picture from the prompt and seed (background colour from the
 * prompt, a disc whose colour and place come from the seed). It runs no neural network. With the spread
 * {@link Spread#EXPONENTIAL} each job's time is drawn from its seed (see {@link SimulatedJobTime}).
 */
final class SimulatedModel implements DiffusionModel {

    /** Any size in multiples of 8 (like a latent-space model's); it runs no scheduler, so it takes every name. */
    static final ModelCard CARD = ModelCard.of("simulated", 512, 8, 1024, 8, false, Schedulers.NAMES);

    private final Duration latency;
    private final Duration stepLatency;
    private final Spread spread;
    private final Pattern failPattern;
    private final Pattern crashPattern;

    SimulatedModel(Duration latency, Pattern failPattern, Pattern crashPattern) {
        this(latency, Duration.ZERO, Spread.NONE, failPattern, crashPattern);
    }

    /** With {@code stepLatency} above zero each step takes that long, whatever {@code latency} says. */
    SimulatedModel(Duration latency, Duration stepLatency, Pattern failPattern, Pattern crashPattern) {
        this(latency, stepLatency, Spread.NONE, failPattern, crashPattern);
    }

    /**
     * With {@code spread} {@link Spread#EXPONENTIAL} a job takes {@link SimulatedJobTime#exponentialNanos} of
     * its seed and {@code latency}, and a batch the longest of its jobs' times ({@code stepLatency} above zero
     * still wins).
     */
    SimulatedModel(Duration latency, Duration stepLatency, Spread spread, Pattern failPattern,
            Pattern crashPattern) {
        this.latency = latency;
        this.stepLatency = stepLatency;
        this.spread = spread;
        this.failPattern = failPattern;
        this.crashPattern = crashPattern;
    }

    @Override
    public ModelCard card() {
        return CARD;
    }

    /**
     * Waits the configured time once for the whole batch, as a GPU runs a batch in about the time of one job;
     * each job's listener is told after every step, and one that throws takes only its job out. A prompt
     * matching the fail pattern fails the whole batch, as a model error does.
     */
    @Override
    public List<Drawing> generate(List<GenerationRequest> requests, List<StepListener> listeners) {
        GenerationRequest first = GenerationRequest.firstOfBatch(requests, listeners);
        boolean crash = false;
        for (GenerationRequest r : requests) {
            if (failPattern != null && failPattern.matcher(r.prompt()).find()) {
                throw new ModelException("model-error", "the simulated model was told to fail on this prompt",
                        true, null);
            }
            crash |= crashPattern != null && crashPattern.matcher(r.prompt()).find();
        }
        int steps = first.steps();
        long perStepNanos = !stepLatency.isZero() && !stepLatency.isNegative() ? stepLatency.toNanos() : jobNanos(requests) / Math.max(1, steps);
        Drawing[] drawings = new Drawing[requests.size()];
        for (int step = 1; step <= steps; step++) {
            sleepNanos(perStepNanos);
            if (crash && step > steps / 2) {
                // Like a segfault in native code: no shutdown hooks, no clean-up, no goodbye.
                Runtime.getRuntime().halt(137);
            }
            boolean anyLeft = false;
            for (int k = 0; k < drawings.length; k++) {
                if (drawings[k] == null) {
                    try {
                        listeners.get(k).onStep(step, steps);
                        anyLeft = true;
                    } catch (RuntimeException e) {
                        drawings[k] = Drawing.stopped(e);
                    }
                }
            }
            if (!anyLeft) {
                break;
            }
        }
        for (int k = 0; k < drawings.length; k++) {
            if (drawings[k] == null) {
                drawings[k] = Drawing.of(draw(requests.get(k)));
            }
        }
        return Arrays.asList(drawings);
    }

    /** The time of a batch: the latency, or with a spread the longest of its jobs' drawn times. */
    private long jobNanos(List<GenerationRequest> requests) {
        if (spread == Spread.NONE) {
            return latency.toNanos();
        }
        long longest = 0;
        for (GenerationRequest r : requests) {
            longest = Math.max(longest, SimulatedJobTime.exponentialNanos(r.seed(), latency.toNanos()));
        }
        return longest;
    }

    static BufferedImage draw(GenerationRequest request) {
        int w = request.width();
        int h = request.height();
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setColor(new Color(hash(request.prompt()) & 0xFFFFFF));
            g.fillRect(0, 0, w, h);
            long s = request.seed();
            g.setColor(new Color((int) (s * 2654435761L) & 0xFFFFFF));
            int d = Math.max(1, Math.min(w, h) / 2);
            int x = (int) Math.floorMod(s, Math.max(1, w - d + 1));
            int y = (int) Math.floorMod(s / 7, Math.max(1, h - d + 1));
            g.fillOval(x, y, d, d);
        } finally {
            g.dispose();
        }
        return image;
    }

    private static int hash(String text) {
        CRC32 crc = new CRC32();
        crc.update(text.getBytes(StandardCharsets.UTF_8));
        return (int) crc.getValue();
    }

    private static void sleepNanos(long nanos) {
        if (nanos <= 0) {
            return;
        }
        try {
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelException("interrupted", "the worker is shutting down", true, e);
        }
    }

    @Override
    public void close() {
        // nothing native to free
    }
}
