package io.diffq.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.diffq.common.job.JobState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;

/** The status store on a real RocksDB in a temporary directory: what it keeps, lists and forgets. */
class StatusStoreTests {

    private static final long CACHE = 8L << 20;
    private static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");

    @TempDir
    Path dir;

    @Test
    void aBatchIsReadBackAfterAReopenWithTheOffsetsItCarried() {
        TopicPartition jobs = new TopicPartition("diffq.jobs", 0);
        TopicPartition events = new TopicPartition("diffq.job-events", 11);
        try (StatusStore store = StatusStore.open(dir, CACHE); StatusStore.Batch b = store.batch()) {
            b.status("a", bytes("snapshot-a")).request("a", 0, 41, bytes("request-a")).cancel("a", T0)
                    .live("a", bytes("snapshot-a")).liveRequest("a", 0, 41, bytes("request-a"))
                    .offsets(Map.of(jobs, 42L, events, 7L))
                    .counts(Map.of(JobState.SUCCEEDED, 3L)).commit();
        }
        try (StatusStore store = StatusStore.open(dir, CACHE)) {
            assertThat(new String(store.status("a"), StandardCharsets.UTF_8)).isEqualTo("snapshot-a");
            StatusStore.StoredRequest r = store.request("a");
            assertThat(r.partition()).isZero();
            assertThat(r.offset()).isEqualTo(41);
            assertThat(new String(r.bytes(), StandardCharsets.UTF_8)).isEqualTo("request-a");
            assertThat(store.cancelAt("a")).isEqualTo(T0);
            assertThat(store.offsets()).isEqualTo(Map.of(jobs, 42L, events, 7L));
            assertThat(store.counts()).containsEntry(JobState.SUCCEEDED, 3L).containsEntry(JobState.FAILED, 0L);
            assertThat(live(store)).containsExactly("a snapshot-a 0@41 request-a");
            assertThat(store.status("b")).isNull();
            assertThat(store.request("b")).isNull();
        }
    }

    @Test
    void oneScanReturnsEachLiveJobOnceWithItsLatestCopiesUntilItEnds() {
        try (StatusStore store = StatusStore.open(dir, CACHE)) {
            try (StatusStore.Batch b = store.batch()) {
                // "a" and "a1" share a prefix: their copies must not mix; "b" has no request yet.
                b.live("a", bytes("queued-a")).liveRequest("a", 3, 7, bytes("request-a"))
                        .live("a1", bytes("queued-a1")).liveRequest("a1", 1, 2, bytes("request-a1"))
                        .live("b", bytes("running-b")).live("c", bytes("queued-c")).commit();
            }
            try (StatusStore.Batch b = store.batch()) {
                b.live("a", bytes("running-a")).ended("c").commit();
            }
            assertThat(live(store)).containsExactly("a running-a 3@7 request-a", "a1 queued-a1 1@2 request-a1",
                    "b running-b -");
            try (StatusStore.Batch b = store.batch()) {
                b.ended("a").forget("b").commit();
            }
            assertThat(live(store)).containsExactly("a1 queued-a1 1@2 request-a1");
        }
    }

    @Test
    void aReadThatMissesTheCacheLoadsAPartitionOfTheIndexAndFilterNotAFilesWhole() {
        // 100k jobs in files whose whole filter (10 bits a key) is over 100 KiB, read at random through a 1 MiB
        // cache, as polls of finished jobs read a large store: index and filter blocks are loaded again and again,
        // each time a 4 KiB partition (a whole one per miss: the multi-millisecond tail this store had at 1M jobs).
        int jobs = 100_000;
        try (StatusStore store = StatusStore.open(dir, 1L << 20)) {
            byte[] snapshot = new byte[120];
            Arrays.fill(snapshot, (byte) 'x');
            for (int from = 0; from < jobs; from += 10_000) {
                try (StatusStore.Batch b = store.batch()) {
                    for (int i = from; i < from + 10_000; i++) {
                        b.status(id(i), snapshot);
                    }
                    b.commit();
                }
            }
            store.compact();
            StatusStore.CacheMisses before = store.cacheMisses();
            Random random = new Random(11);
            for (int i = 0; i < 5_000; i++) {
                assertThat(store.status(id(random.nextInt(jobs)))).isNotNull();
            }
            StatusStore.CacheMisses m = store.cacheMisses();
            long misses = m.index() - before.index() + m.filter() - before.filter();
            long bytes = m.indexBytes() - before.indexBytes() + m.filterBytes() - before.filterBytes();
            assertThat(misses).as("index and filter reads that missed the cache").isPositive();
            assertThat(bytes / misses).as("bytes loaded per index or filter miss").isLessThanOrEqualTo(8 << 10);
            assertThat(m.data() - before.data()).as("data blocks loaded").isPositive();
        }
    }

    private static String id(int i) {
        return new UUID(0x5eed, i).toString();
    }

    @Test
    void aStoreOfFormatOneKeepsEveryJobAndGainsTheLiveCopiesOnce() throws RocksDBException {
        // Written as format 1 wrote: a live job's mark was its bare id, with nothing beside it.
        List<ColumnFamilyDescriptor> families = new ArrayList<>();
        families.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY));
        StatusStore.FAMILIES.forEach(f -> families.add(new ColumnFamilyDescriptor(bytes(f))));
        List<ColumnFamilyHandle> h = new ArrayList<>();
        try (DBOptions options = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
                RocksDB db = RocksDB.open(options, dir.toString(), families, h)) {
            ColumnFamilyHandle status = h.get(1 + StatusStore.FAMILIES.indexOf("status"));
            ColumnFamilyHandle requests = h.get(1 + StatusStore.FAMILIES.indexOf("requests"));
            ColumnFamilyHandle live = h.get(1 + StatusStore.FAMILIES.indexOf("live"));
            db.put(h.get(1 + StatusStore.FAMILIES.indexOf("meta")), bytes("format"),
                    ByteBuffer.allocate(4).putInt(1).array());
            db.put(status, bytes("a"), bytes("queued-a"));
            db.put(requests, bytes("a"), ByteBuffer.allocate(12 + 9).putInt(3).putLong(7).put(bytes("request-a"))
                    .array());
            db.put(live, bytes("a"), new byte[0]);
            db.put(status, bytes("b"), bytes("running-b"));
            db.put(live, bytes("b"), new byte[0]);
            db.put(status, bytes("done"), bytes("succeeded"));
            h.forEach(ColumnFamilyHandle::close);
        }
        for (int open = 1; open <= 2; open++) { // copied at the first open, as it is at the second
            try (StatusStore store = StatusStore.open(dir, CACHE)) {
                assertThat(live(store)).as("open %d", open)
                        .containsExactly("a queued-a 3@7 request-a", "b running-b -");
                assertThat(text(store.status("done"))).isEqualTo("succeeded");
                assertThat(store.request("a").offset()).isEqualTo(7);
            }
        }
    }

    private static List<String> live(StatusStore store) {
        List<String> live = new ArrayList<>();
        store.forEachLive(c -> live.add(c.id() + " " + text(c.snapshot()) + " " + (c.request() == null ? "-"
                : c.request().partition() + "@" + c.request().offset() + " " + text(c.request().bytes()))));
        return live;
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void nothingOfABatchIsStoredBeforeItsCommit() {
        try (StatusStore store = StatusStore.open(dir, CACHE)) {
            try (StatusStore.Batch b = store.batch()) {
                b.status("a", bytes("x")).offsets(Map.of(new TopicPartition("t", 0), 5L));
            }
            assertThat(store.status("a")).isNull();
            assertThat(store.offsets()).isEmpty();
        }
    }

    @Test
    void aSecondStoreOnTheSameDirectoryFailsToOpen() {
        try (StatusStore store = StatusStore.open(dir, CACHE)) {
            assertThatThrownBy(() -> StatusStore.open(dir, CACHE)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(dir.toString());
        }
    }

    @Test
    void aWipedStoreIsEmpty() {
        StatusStore store = StatusStore.open(dir, CACHE);
        try (StatusStore.Batch b = store.batch()) {
            b.status("a", bytes("x")).offsets(Map.of(new TopicPartition("t", 0), 5L)).commit();
        }
        store = store.wiped();
        try (StatusStore s = store) {
            assertThat(s.status("a")).isNull();
            assertThat(s.offsets()).isEmpty();
        }
    }

    /** 600 jobs of 3 owners and none, 3 states, acceptance times with ties: pages match a sort of all of them. */
    @Test
    void pagesFollowTheNewestFirstOrderAcrossOwnersAndStatesWithoutRepeatOrGap() {
        record Job(String id, String owner, JobState state, Instant createdAt) {
        }
        Random random = new Random(7);
        List<String> owners = List.of("", "alice", "bob", "carol");
        List<JobState> states = List.of(JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED);
        List<Job> jobs = new ArrayList<>();
        try (StatusStore store = StatusStore.open(dir, CACHE)) {
            try (StatusStore.Batch b = store.batch()) {
                for (int i = 0; i < 600; i++) {
                    // Seconds before and after 1970 and shared instants: the order must hold across both.
                    Instant at = T0.minusSeconds(random.nextInt(40) * 3600L * 24 * 365 * 2).plusMillis(random.nextInt(5));
                    Job j = new Job(String.format("%08x-job", random.nextInt()), owners.get(random.nextInt(4)),
                            states.get(random.nextInt(3)), at);
                    jobs.add(j);
                    b.index(j.owner(), j.state(), new StatusStore.Place(j.createdAt(), j.id()));
                }
                b.commit();
            }
            Comparator<Job> newestFirst = Comparator.comparing(Job::createdAt).thenComparing(Job::id).reversed();
            // bob's jobs and those with no owner, RUNNING or SUCCEEDED, in pages of 7.
            Set<JobState> asked = EnumSet.of(JobState.RUNNING, JobState.SUCCEEDED);
            List<String> expected = jobs.stream()
                    .filter(j -> (j.owner().equals("bob") || j.owner().isEmpty()) && asked.contains(j.state()))
                    .sorted(newestFirst).map(Job::id).toList();
            assertThat(expected).hasSizeGreaterThan(100);
            assertThat(walk(store, List.of("bob", ""), asked, 7)).isEqualTo(expected);
            // Everyone's, every state.
            List<String> all = jobs.stream().sorted(newestFirst).map(Job::id).toList();
            assertThat(walk(store, List.of(StatusStore.EVERYONE), EnumSet.allOf(JobState.class), 50)).isEqualTo(all);
        }
    }

    private static List<String> walk(StatusStore store, List<String> owners, Set<JobState> states, int size) {
        List<String> seen = new ArrayList<>();
        StatusStore.Place after = null;
        while (true) {
            List<StatusStore.Place> page = store.page(owners, states, after, size);
            page.forEach(p -> seen.add(p.id()));
            if (page.size() < size) {
                return seen;
            }
            after = page.get(page.size() - 1);
        }
    }

    @Test
    void aJobUnindexedFromOneStateAndIndexedInAnotherIsListedOnceInItsNewState() {
        StatusStore.Place place = new StatusStore.Place(T0, "job-1");
        try (StatusStore store = StatusStore.open(dir, CACHE)) {
            try (StatusStore.Batch b = store.batch()) {
                b.index("alice", JobState.QUEUED, place).commit();
            }
            try (StatusStore.Batch b = store.batch()) {
                b.unindex("alice", JobState.QUEUED, place).index("alice", JobState.SUCCEEDED, place).commit();
            }
            assertThat(store.page(List.of("alice"), EnumSet.allOf(JobState.class), null, 10)).containsExactly(place);
            assertThat(store.page(List.of(StatusStore.EVERYONE), EnumSet.of(JobState.QUEUED), null, 10)).isEmpty();
            assertThat(store.page(List.of("bob", ""), EnumSet.allOf(JobState.class), null, 10)).isEmpty();
        }
    }

    @Test
    void theSweepSeesOnlyWhatIsDueOldestFirstAndForgetsAJob() {
        try (StatusStore store = StatusStore.open(dir, CACHE)) {
            try (StatusStore.Batch b = store.batch()) {
                b.status("late", bytes("x")).expiry(T0.plusSeconds(60), "late")
                        .status("early", bytes("y")).request("early", 0, 1, bytes("r")).cancel("early", T0)
                        .expiry(T0.plusSeconds(10), "early")
                        .expiry(T0.plusSeconds(20), "gone").commit();
            }
            List<StatusStore.Due> due = store.due(T0.plusSeconds(30), 10);
            assertThat(due).extracting(StatusStore.Due::id).containsExactly("early", "gone");
            assertThat(store.due(T0.plusSeconds(30), 1)).extracting(StatusStore.Due::id).containsExactly("early");
            try (StatusStore.Batch b = store.batch()) {
                b.forget("early").swept(due.get(0)).commit();
            }
            assertThat(store.status("early")).isNull();
            assertThat(store.request("early")).isNull();
            assertThat(store.cancelAt("early")).isNull();
            assertThat(store.status("late")).isNotNull();
            assertThat(store.due(T0.plusSeconds(30), 10)).extracting(StatusStore.Due::id).containsExactly("gone");
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
