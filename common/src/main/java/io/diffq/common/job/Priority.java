package io.diffq.common.job;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * How urgent a job is, as its client asked and its API key allows ({@code max-priority}). The API writes it in
 * lower case ({@code "high"}); records on the topics carry the constant's name. A record written before jobs had
 * a priority reads as {@link #NORMAL}.
 */
public enum Priority {
    HIGH,
    NORMAL,
    LOW;

    /** The names the API accepts, most urgent first. */
    public static final List<String> NAMES = Arrays.stream(values()).map(Priority::apiName).toList();

    /** The name in the API: {@code high}, {@code normal} or {@code low}. */
    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The priority of an API name, exactly as written ({@code "High"} is not one). */
    public static Optional<Priority> ofApiName(String name) {
        return Arrays.stream(values()).filter(p -> p.apiName().equals(name)).findFirst();
    }

    /** Whether this priority is more urgent than {@code other}. */
    public boolean isAbove(Priority other) {
        return ordinal() < other.ordinal();
    }
}
