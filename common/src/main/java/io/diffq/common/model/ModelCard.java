package io.diffq.common.model;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * What a loaded model can draw, as a worker advertises it on {@code diffq.models} keyed by the model's
 * name. The gateway checks each submit against the card of the model it names, so a job the model cannot
 * serve is a 400 at submit instead of a failed job. A card that breaks its own rules (a default size the
 * model cannot draw, no scheduler) cannot be made, so one read from the topic is either sound or malformed.
 *
 * @param name         the model's name, as jobs ask for it
 * @param defaultSize  width and height of a job that gives neither
 * @param minSize      smallest width or height, in pixels
 * @param maxSize      largest width or height, in pixels
 * @param sizeMultiple width and height must be multiples of this
 * @param squareOnly   whether width and height must be equal
 * @param schedulers   the scheduler names a job may ask for; the first is the model's default
 * @param defaultGuidance the guidance scale of a job that gives none, or {@code null} for the gateway's default
 *                     (models differ: Stable Diffusion 1.x is tuned for 7.5, the tiny model is set to 5)
 * @param worker       the worker that advertised the card, or {@code null} before it is advertised
 * @param advertisedAt when the worker advertised it, or {@code null} before it is advertised
 */
public record ModelCard(
        String name,
        int defaultSize,
        int minSize,
        int maxSize,
        int sizeMultiple,
        boolean squareOnly,
        List<String> schedulers,
        Double defaultGuidance,
        String worker,
        Instant advertisedAt) {

    /**
     * One thing wrong with a request for this model.
     *
     * @param field   the job field at fault ({@code width}, {@code height} or {@code scheduler})
     * @param message what the model can do instead, said for the client
     */
    public record Problem(String field, String message) {
    }

    public ModelCard {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a model card needs a name");
        }
        if (sizeMultiple < 1 || minSize < sizeMultiple || maxSize < minSize
                || minSize % sizeMultiple != 0 || maxSize % sizeMultiple != 0) {
            throw new IllegalArgumentException("model " + name + ": sizes from " + minSize + " to " + maxSize
                    + " in multiples of " + sizeMultiple + " are not a valid range");
        }
        if (defaultSize < minSize || defaultSize > maxSize || defaultSize % sizeMultiple != 0) {
            throw new IllegalArgumentException("model " + name + ": default size " + defaultSize
                    + " is not a size it draws");
        }
        if (schedulers == null || schedulers.isEmpty() || schedulers.stream().anyMatch(s -> s == null || s.isBlank())) {
            throw new IllegalArgumentException("model " + name + ": a model card lists at least one scheduler");
        }
        schedulers = List.copyOf(schedulers);
        if (defaultGuidance != null && !(defaultGuidance >= 0 && defaultGuidance <= 100)) {
            throw new IllegalArgumentException("model " + name + ": default guidance " + defaultGuidance
                    + " is not between 0 and 100");
        }
    }

    /** A card as a model describes itself, before a worker advertises it. */
    public static ModelCard of(String name, int defaultSize, int minSize, int maxSize, int sizeMultiple,
            boolean squareOnly, List<String> schedulers) {
        return new ModelCard(name, defaultSize, minSize, maxSize, sizeMultiple, squareOnly, schedulers, null, null,
                null);
    }

    /** This card with a guidance scale of its own for jobs that give none. */
    public ModelCard withDefaultGuidance(double guidance) {
        return new ModelCard(name, defaultSize, minSize, maxSize, sizeMultiple, squareOnly, schedulers, guidance,
                worker, advertisedAt);
    }

    /** This card as {@code worker} advertises it at {@code at}. */
    public ModelCard advertisedBy(String worker, Instant at) {
        return new ModelCard(name, defaultSize, minSize, maxSize, sizeMultiple, squareOnly, schedulers,
                defaultGuidance, Objects.requireNonNull(worker), Objects.requireNonNull(at));
    }

    /** The scheduler a job gets when it names none. */
    public String defaultScheduler() {
        return schedulers.get(0);
    }

    /**
     * Whether the model draws {@code width} × {@code height}: the first side it cannot draw (the height when
     * a square-only model is asked for a rectangle) with a message saying what it can draw.
     */
    public Optional<Problem> checkSize(int width, int height) {
        if (!drawsSide(width)) {
            return Optional.of(new Problem("width", describeSizes()));
        }
        if (!drawsSide(height) || (squareOnly && width != height)) {
            return Optional.of(new Problem("height", describeSizes()));
        }
        return Optional.empty();
    }

    /**
     * A scheduler name as a job stores it and a worker reads it: lower case in the root locale. Checking and
     * storing use this one spelling, so a name that only matches under a looser comparison (U+0130 "İ" is
     * {@code equalsIgnoreCase} to "i", but lower-cases to "i̇") is refused, not stored and failed later.
     */
    public static String schedulerName(String scheduler) {
        return scheduler == null ? null : scheduler.toLowerCase(Locale.ROOT);
    }

    /** Whether a job may ask for {@code scheduler} ({@code null}: the default), by {@link #schedulerName}. */
    public Optional<Problem> checkScheduler(String scheduler) {
        String asked = schedulerName(scheduler);
        if (asked == null || schedulers.stream().anyMatch(s -> schedulerName(s).equals(asked))) {
            return Optional.empty();
        }
        return Optional.of(new Problem("scheduler", "model " + name + " offers the schedulers " + schedulers
                + " (default " + defaultScheduler() + ")"));
    }

    /** The sizes the model draws, in words, e.g. "model tiny draws square images whose side is …". */
    public String describeSizes() {
        String range = sizeMultiple > 1
                ? " a multiple of " + sizeMultiple + " pixels, from " + minSize + " to " + maxSize
                : " from " + minSize + " to " + maxSize + " pixels";
        return squareOnly
                ? "model " + name + " draws square images whose side is" + range
                : "model " + name + " draws images whose width and height are each" + range;
    }

    private boolean drawsSide(int side) {
        return side >= minSize && side <= maxSize && side % sizeMultiple == 0;
    }
}
