package io.diffq.worker.consumer;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.NavigableSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * What one consumer knows about the partitions it owns: up to where every job is finished (the position it
 * commits), and how many deliveries each job at or after that position has had. Deliveries are counted in
 * the committed offset's metadata, {@code diffq:attempts:<offset>=<attempt>,...}: before a job runs its worker
 * commits its position with the job's attempt in it, so a worker that takes the partition over after a
 * {@code kill -9} reads the count and goes on from there, even for a job that kills every worker that runs it.
 * The committed metadata is read once per assignment, not per job; the position moves past a job only once
 * its terminal event is acknowledged, and one commit both finishes the jobs done since the last one and
 * counts the job about to run.
 *
 * <p>Used from the consumer's thread only.
 */
final class OffsetLedger {

    private static final String PREFIX = "diffq:attempts:";
    private static final Pattern ENTRY = Pattern.compile("(\\d+)=(\\d+)");
    /** What workers before this ledger wrote: one job's attempt. */
    private static final Pattern LEGACY = Pattern.compile("diffq:attempt:(\\d+)@(\\d+)");

    /** How many job ids per partition are remembered to recognise a repeated record; about 10 MB at most. */
    static final int REMEMBERED_IDS = 100_000;

    private final Map<TopicPartition, Book> books = new HashMap<>();

    /** One partition. */
    private static final class Book {
        /** Every offset below it is finished; -1 while neither the committed offset nor a job is known. */
        long position;
        /** Offsets at or after the position with at least one delivery counted, and their count. */
        final NavigableMap<Long, Integer> attempts = new TreeMap<>();
        /** Offsets after the position that are finished while an earlier one is not (redone after a failed write). */
        final NavigableSet<Long> done = new TreeSet<>();
        /**
         * Per job id, the first record for it known in the partition (bounded): read since the partition was
         * assigned, or read back from before the committed offset by {@link #rememberEarlier}.
         */
        final Map<String, Seen> firstRecords = new LinkedHashMap<>(1024, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Seen> eldest) {
                return size() > REMEMBERED_IDS;
            }
        };
        /** The committed offset when the partition was assigned; -1 when none. */
        final long committedAtAssignment;
        /** Whether the records before {@link #committedAtAssignment} were read back into {@link #firstRecords}. */
        boolean earlierRemembered;
        boolean dirty;

        Book(long position) {
            this.position = position;
            this.committedAtAssignment = position;
            this.earlierRemembered = position <= 0;
        }
    }

    /** Where a record for a job id is, and when it was written ({@code -1}: unknown). */
    record Seen(long offset, long timestamp) {
    }

    /** How far apart two records of one job id may be written for the later one to be a repeat. */
    private final Duration repeatWindow;

    OffsetLedger() {
        this(JobLoop.Repeats.NOT_READ_BACK.window());
    }

    /**
     * @param repeatWindow a record repeats an earlier one of its job id only when it was written at most this
     *                     long after it: concurrent submits with one {@code Idempotency-Key} store their records
     *                     seconds apart at most, while a key reused after the gateways forgot its job (past
     *                     their status retention) makes a new job under the same id
     */
    OffsetLedger(Duration repeatWindow) {
        this.repeatWindow = repeatWindow;
    }

    /** Takes over a partition at its committed offset ({@code null}: none yet). */
    void assign(TopicPartition tp, OffsetAndMetadata committed) {
        Book book = new Book(committed == null ? -1 : committed.offset());
        if (committed != null) {
            book.attempts.putAll(parse(committed.offset(), committed.metadata()));
        }
        books.put(tp, book);
    }

    /** Forgets partitions given up or lost. */
    void remove(Collection<TopicPartition> partitions) {
        partitions.forEach(books::remove);
    }

    boolean owns(TopicPartition tp) {
        return books.containsKey(tp);
    }

    /**
     * Whether the record at {@code offset} repeats a job id that an earlier record of the partition already
     * carries, written within the repeat window before it (concurrent submits with one
     * {@code Idempotency-Key}). The first record for an id is the job, as the gateways show it; a later one
     * must neither run nor write a state. Earlier records are those read since the partition was assigned
     * and, once {@link #rememberEarlier} was called, those before the committed offset it was assigned at
     * (so a repeat is recognised also by a worker that took the partition over after the first record was
     * finished and committed).
     */
    boolean repeatsEarlierRecord(TopicPartition tp, String jobId, long offset, long timestamp) {
        Book book = books.get(tp);
        if (book == null || jobId == null) {
            return false;
        }
        return repeats(book, jobId, offset, timestamp);
    }

    /** The rule, for one record read in offset order: a repeat, or else (new, or long after) the job's record now. */
    private boolean repeats(Book book, String jobId, long offset, long timestamp) {
        Seen first = book.firstRecords.get(jobId);
        if (first != null && first.offset() < offset && withinWindow(first.timestamp(), timestamp)) {
            return true;
        }
        if (first == null || first.offset() < offset) {
            // New, or a key used again after the first job was long forgotten: this record is the job now.
            book.firstRecords.put(jobId, new Seen(offset, timestamp));
        }
        return false;
    }

    private boolean withinWindow(long earlier, long later) {
        return earlier < 0 || later < 0 || later - earlier <= repeatWindow.toMillis();
    }

    /**
     * Whether the records before the committed offset this partition was assigned at must still be read back
     * (see {@link #rememberEarlier}) before its next record is checked for a repeat.
     */
    boolean needsEarlierRecords(TopicPartition tp) {
        Book book = books.get(tp);
        return book != null && !book.earlierRemembered;
    }

    /** The committed offset this partition was assigned at (-1: none). */
    long committedAtAssignment(TopicPartition tp) {
        Book book = books.get(tp);
        return book == null ? -1 : book.committedAtAssignment;
    }

    /**
     * Takes in records read back from before the committed offset the partition was assigned at, in offset
     * order: each id's first one counts as that job's record for {@link #repeatsEarlierRecord}.
     */
    void rememberEarlier(TopicPartition tp, List<JobLoop.Earlier> earlier) {
        Book book = books.get(tp);
        if (book == null) {
            return;
        }
        // Called before the partition's first record in hand is checked, so these come first in offset order.
        for (JobLoop.Earlier e : earlier) {
            if (e.jobId() != null && e.offset() < book.committedAtAssignment) {
                repeats(book, e.jobId(), e.offset(), e.timestamp());
            }
        }
        book.earlierRemembered = true;
    }

    /** Whether the job at this offset has finished already (a record fetched again after a rewind). */
    boolean isDone(TopicPartition tp, long offset) {
        Book book = books.get(tp);
        return book != null && book.position >= 0 && (offset < book.position || book.done.contains(offset));
    }

    /** Counts a delivery of the job at this offset and returns its attempt, from 1. */
    int begin(TopicPartition tp, long offset) {
        Book book = books.computeIfAbsent(tp, k -> new Book(-1));
        if (book.position < 0) {
            book.position = offset;
        }
        int attempt = book.attempts.getOrDefault(offset, 0) + 1;
        book.attempts.put(offset, attempt);
        book.dirty = true;
        return attempt;
    }

    /** Takes back a delivery counted by {@link #begin} (its commit failed, or the job was handed back unfinished). */
    void undo(TopicPartition tp, long offset) {
        Book book = books.get(tp);
        if (book == null) {
            return;
        }
        book.attempts.computeIfPresent(offset, (o, attempt) -> attempt > 1 ? attempt - 1 : null);
        book.dirty = true;
    }

    /** The job at this offset has its terminal event written: the position may move past it. */
    void finished(TopicPartition tp, long offset) {
        Book book = books.get(tp);
        if (book == null || offset < book.position) {
            return;
        }
        book.attempts.remove(offset);
        book.done.add(offset);
        // Every offset up to the last finished one was either begun (and is in attempts or done) or does not
        // exist: jobs of a partition are begun in order, and a rewind only redoes ones begun before.
        long position = book.done.last() + 1;
        if (!book.attempts.isEmpty()) {
            position = Math.min(position, book.attempts.firstKey());
        }
        position = Math.max(position, book.position);
        book.done.headSet(position).clear();
        book.position = position;
        book.dirty = true;
    }

    /** The commits that would record everything known, for the partitions changed since the last call. */
    Map<TopicPartition, OffsetAndMetadata> drainCommits() {
        Map<TopicPartition, OffsetAndMetadata> commits = new LinkedHashMap<>();
        books.forEach((tp, book) -> {
            if (book.dirty && book.position >= 0) {
                commits.put(tp, commitOf(book));
                book.dirty = false;
            }
        });
        return commits;
    }

    /** The commits for these partitions, whether changed or not (before they are given up). */
    Map<TopicPartition, OffsetAndMetadata> commitsFor(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> commits = new LinkedHashMap<>();
        for (TopicPartition tp : partitions) {
            Book book = books.get(tp);
            if (book != null && book.position >= 0) {
                commits.put(tp, commitOf(book));
                book.dirty = false;
            }
        }
        return commits;
    }

    /** Marks partitions as changed again (their commit did not reach the broker). */
    void markDirty(Collection<TopicPartition> partitions) {
        partitions.forEach(tp -> {
            Book book = books.get(tp);
            if (book != null) {
                book.dirty = true;
            }
        });
    }

    private static OffsetAndMetadata commitOf(Book book) {
        StringBuilder metadata = new StringBuilder(PREFIX);
        book.attempts.tailMap(book.position, true).forEach((offset, attempt) -> {
            if (metadata.length() > PREFIX.length()) {
                metadata.append(',');
            }
            metadata.append(offset).append('=').append(attempt);
        });
        return new OffsetAndMetadata(book.position, metadata.toString());
    }

    /** The attempts recorded in a committed offset's metadata, for offsets at or after the committed one. */
    static Map<Long, Integer> parse(long committedOffset, String metadata) {
        Map<Long, Integer> attempts = new TreeMap<>();
        if (metadata == null) {
            return attempts;
        }
        Matcher legacy = LEGACY.matcher(metadata);
        if (legacy.matches()) {
            long offset = Long.parseLong(legacy.group(2));
            if (offset == committedOffset) {
                attempts.put(offset, Integer.parseInt(legacy.group(1)));
            }
            return attempts;
        }
        if (!metadata.startsWith(PREFIX)) {
            return attempts;
        }
        Matcher entry = ENTRY.matcher(metadata);
        entry.region(PREFIX.length(), metadata.length());
        while (entry.find()) {
            long offset = Long.parseLong(entry.group(1));
            if (offset >= committedOffset) {
                attempts.put(offset, Integer.parseInt(entry.group(2)));
            }
        }
        return attempts;
    }
}
