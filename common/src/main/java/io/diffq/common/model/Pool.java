package io.diffq.common.model;

import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A worker pool: the workers that serve the same models, sharing one lane (docs/design/lanes.md §2). Declared on
 * {@code diffq.pools} by its workers (and optionally up front in the gateways' configuration, so a pool at zero
 * workers is known).
 *
 * @param name   the pool's name: lower-case letters, digits, {@code .}, {@code _} and {@code -}, starting with a
 *               letter or digit, at most {@value #MAX_NAME} characters (it names a topic, and Kafka 4.3 mishandles
 *               a {@code :} in share-group topic names, KAFKA-20183)
 * @param models the models its workers serve, sorted, without repeats, at least one
 */
public record Pool(String name, List<String> models) {

    /** Topic names are at most 249 characters; the lane's prefix takes 11. */
    public static final int MAX_NAME = 200;

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]*");

    public Pool {
        requireName(name);
        Objects.requireNonNull(models, "models");
        TreeSet<String> sorted = new TreeSet<>(models);
        if (sorted.isEmpty() || sorted.contains("") || sorted.size() != models.size()) {
            throw new IllegalArgumentException("a pool serves one model or more, each named once: " + models);
        }
        models = List.copyOf(sorted);
    }

    /** The pool a worker serving {@code models} joins when none is named: the model names, sorted, joined by '.'. */
    public static String defaultName(List<String> models) {
        return String.join(".", new TreeSet<>(models));
    }

    /** Whether this pool's workers serve {@code model}. */
    public boolean serves(String model) {
        return models.contains(model);
    }

    /** {@code name} when it is a valid pool name, else an {@link IllegalArgumentException} saying why. */
    public static String requireName(String name) {
        if (name == null || name.length() > MAX_NAME || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a pool name is 1 to " + MAX_NAME + " of a-z, 0-9, '.', '_' and '-', "
                    + "starting with a letter or digit, not " + (name == null ? "null" : "'" + name + "'"));
        }
        return name;
    }
}
