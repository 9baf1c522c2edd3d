package io.diffq.gateway.jobs;

import io.diffq.common.job.JobState;
import io.diffq.common.job.JobStatus;
import io.diffq.common.job.Priority;
import io.diffq.gateway.status.StatusStore;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Pages of {@code GET /v1/jobs}: newest first (acceptance time, then id), filtered by state, with an opaque
 * cursor; the status view selects them from its index. The cursor names the last job of a page by its place in
 * that order, not by an index, so a page neither repeats nor skips a job when new ones arrive between two requests.
 */
final class JobLists {

    static final int DEFAULT_LIMIT = 20;
    static final int MAX_LIMIT = 100;

    private static final String CURSOR_VERSION = "c1";
    private static final Set<String> PARAMETERS = Set.of("state", "priority", "limit", "cursor");
    /**
     * With a {@code priority} filter, the most jobs of the index one page looks at: a filter that matches few jobs
     * answers a page with fewer jobs than asked (even none) and a {@code next} that goes on from where it stopped,
     * instead of reading the whole index in one request.
     */
    static final int MAX_SCANNED = 2000;
    private static final int MAX_QUERY_LENGTH = 2048;
    /**
     * One page.
     *
     * @param jobs  the page's jobs, newest first
     * @param next  the cursor of the next page, or {@code null} on the last one
     * @param limit the page size asked for
     */
    record Page(List<JobStatus> jobs, String next, int limit) {

        /** The next page's path, with the same filters and size. */
        String nextLink(String state, String priority) {
            return "/v1/jobs?" + (state == null ? "" : "state=" + URLEncoder.encode(state, StandardCharsets.UTF_8) + "&")
                    + (priority == null ? "" : "priority=" + URLEncoder.encode(priority, StandardCharsets.UTF_8) + "&")
                    + "limit=" + limit + "&cursor=" + next;
        }
    }

    private JobLists() {
    }

    /**
     * What a list asks for: the states, the page size and where the previous page ended ({@code null}: from the
     * newest job).
     */
    record Query(Set<JobState> states, Set<Priority> priorities, int limit, StatusStore.Place after) {

        /** Whether the query keeps only some priorities. */
        boolean filtersPriority() {
            return priorities.size() < Priority.values().length;
        }
    }

    /**
     * The query that {@code state}, {@code priority}, {@code limit} and {@code cursor} name, the parameters as the
     * client sent them (each checked, every error naming it).
     */
    static Query query(String state, String priority, String limit, String cursor) {
        List<InvalidJobException.FieldError> errors = new ArrayList<>();
        Set<JobState> states = states(state, errors);
        Set<Priority> priorities = priorities(priority, errors);
        int size = limit(limit, errors);
        StatusStore.Place after = cursor == null ? null : decode(cursor, errors);
        if (!errors.isEmpty()) {
            throw new InvalidJobException(errors);
        }
        return new Query(states, priorities, size, after);
    }

    /**
     * The page of a query from up to {@code limit + 1} jobs that follow its cursor, newest first (the last one
     * only tells that there is a next page), and, where the listing stopped at {@link #MAX_SCANNED} before
     * finding them, the place it stopped at ({@code null} otherwise).
     */
    static Page page(Query query, List<JobStatus> newestFirst, StatusStore.Place stoppedAt) {
        List<JobStatus> page = newestFirst;
        String next = null;
        if (page.size() > query.limit()) {
            page = page.subList(0, query.limit());
            next = encode(place(page.get(query.limit() - 1)));
        } else if (stoppedAt != null) {
            next = encode(stoppedAt);
        }
        return new Page(List.copyOf(page), next, query.limit());
    }

    /** The page of a query from up to {@code limit + 1} jobs that follow its cursor, newest first. */
    static Page page(Query query, List<JobStatus> newestFirst) {
        return page(query, newestFirst, null);
    }

    private static StatusStore.Place place(JobStatus job) {
        return new StatusStore.Place(job.request().createdAt(), job.id());
    }

    /**
     * The parameters of a list query: {@code state}, {@code limit} and {@code cursor}, each at most once and
     * percent-decoded as UTF-8; other parameters are ignored. A query that cannot be read is a {@code 400}.
     */
    static Map<String, String> query(String raw) {
        Map<String, String> params = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return params;
        }
        if (raw.length() > MAX_QUERY_LENGTH) {
            throw InvalidJobException.of("(query)", "is longer than " + MAX_QUERY_LENGTH + " characters");
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String name;
            String value;
            try {
                name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw InvalidJobException.of("(query)", "has a malformed percent-escape");
            }
            if (PARAMETERS.contains(name) && params.putIfAbsent(name, value) != null) {
                throw InvalidJobException.of(name, "is given more than once");
            }
        }
        return params;
    }

    private static Set<JobState> states(String state, List<InvalidJobException.FieldError> errors) {
        if (state == null || state.isBlank()) {
            return EnumSet.allOf(JobState.class);
        }
        Set<JobState> states = EnumSet.noneOf(JobState.class);
        for (String name : state.split(",")) {
            try {
                states.add(JobState.valueOf(name.strip().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                errors.add(new InvalidJobException.FieldError("state", "must be one or more of "
                        + List.of(JobState.values()) + ", comma-separated"));
                break;
            }
        }
        return states;
    }

    private static Set<Priority> priorities(String priority, List<InvalidJobException.FieldError> errors) {
        if (priority == null || priority.isBlank()) {
            return EnumSet.allOf(Priority.class);
        }
        Set<Priority> priorities = EnumSet.noneOf(Priority.class);
        for (String name : priority.split(",")) {
            Optional<Priority> p = Priority.ofApiName(name.strip().toLowerCase(Locale.ROOT));
            if (p.isEmpty()) {
                errors.add(new InvalidJobException.FieldError("priority", "must be one or more of " + Priority.NAMES
                        + ", comma-separated"));
                break;
            }
            priorities.add(p.get());
        }
        return priorities;
    }

    private static int limit(String limit, List<InvalidJobException.FieldError> errors) {
        if (limit == null) {
            return DEFAULT_LIMIT;
        }
        try {
            int n = Integer.parseInt(limit.strip());
            if (n >= 1 && n <= MAX_LIMIT) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        errors.add(new InvalidJobException.FieldError("limit", "must be an integer between 1 and " + MAX_LIMIT));
        return DEFAULT_LIMIT;
    }

    /** A cursor: the last place listed (a job's acceptance time and id), base64url-encoded (opaque to clients). */
    private static String encode(StatusStore.Place last) {
        Instant t = last.createdAt();
        String raw = CURSOR_VERSION + ":" + t.getEpochSecond() + ":" + t.getNano() + ":" + last.id();
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    /** The place a cursor names; {@code null} (and an error) when it is not one this API gave out. */
    private static StatusStore.Place decode(String cursor, List<InvalidJobException.FieldError> errors) {
        try {
            String raw = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            String[] parts = raw.split(":", 4);
            if (parts.length == 4 && parts[0].equals(CURSOR_VERSION) && !parts[3].isEmpty()) {
                Instant t = Instant.ofEpochSecond(Long.parseLong(parts[1]), Long.parseLong(parts[2]));
                return new StatusStore.Place(t, parts[3]);
            }
        } catch (IllegalArgumentException | DateTimeException e) {
            // reported below
        }
        errors.add(new InvalidJobException.FieldError("cursor", "is not a cursor this API gave out"));
        return null;
    }
}
