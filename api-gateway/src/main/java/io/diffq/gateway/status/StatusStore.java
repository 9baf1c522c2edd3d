package io.diffq.gateway.status;

import io.diffq.common.job.JobState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompactionStyle;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.IndexType;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Snapshot;
import org.rocksdb.Statistics;
import org.rocksdb.TickerType;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteBufferManager;
import org.rocksdb.WriteOptions;

/**
 * The gateway's job status on disk: one embedded RocksDB (the only class that knows it), written by one thread
 * in atomic batches that carry the topic offsets they reflect, read by any. It holds bytes and keys, not rules:
 * what a status is, and when it changes, is {@link JobStatusView}'s business. See docs/design/status-store.md.
 *
 * <p>Column families: {@code status} (job id → the folded status, as an event snapshot), {@code requests}
 * (job id → the first request's partition, offset and bytes), {@code cancels} (job id → when a client asked),
 * {@code byOwner} (owner, state, acceptance time, id → nothing: job lists newest first without a scan),
 * {@code live} (jobs not finished: id {@code \0s} → a copy of its status, id {@code \0r} → a copy of its request;
 * scanned into the heap at start), {@code expiry} (time, id → nothing:
 * what the retention sweep visits) and {@code meta} (the store's format, the next offset of every partition read,
 * jobs per finished state).
 */
public final class StatusStore implements AutoCloseable {

    /**
     * The layout's version: a store of format 1 is converted at its first open, one of another is dropped and
     * rebuilt from the topics.
     */
    static final int FORMAT = 2;
    /** The owner under which every job is also listed (for admins, and while the API is open). */
    static final String EVERYONE = "\u0001";

    static final List<String> FAMILIES = List.of("status", "requests", "cancels", "byOwner", "live",
            "expiry", "meta");
    private static final byte[] NOTHING = new byte[0];
    private static final byte LIVE_REQUEST = 'r';
    private static final byte LIVE_STATUS = 's';
    private static final byte[] FORMAT_KEY = "format".getBytes(StandardCharsets.UTF_8);
    private static final byte[] COUNTS_KEY = "counts".getBytes(StandardCharsets.UTF_8);
    private static final String OFFSET_PREFIX = "offset/";
    /** Past every acceptance time and id: where a newest-first walk starts. */
    private static final byte[] AFTER_ALL = filled(13, (byte) 0xff);

    static {
        RocksDB.loadLibrary();
    }

    private final Path dir;
    private final long cacheBytes;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<ColumnFamilyHandle> handles = new ArrayList<>();
    private final RocksDB db;
    private final ColumnFamilyHandle status;
    private final ColumnFamilyHandle requests;
    private final ColumnFamilyHandle cancels;
    private final ColumnFamilyHandle byOwner;
    private final ColumnFamilyHandle live;
    private final ColumnFamilyHandle expiry;
    private final ColumnFamilyHandle meta;
    /** The families of {@link #FAMILIES}, in that order (the default one left out: nothing is written to it). */
    private final List<ColumnFamilyHandle> families;
    private final WriteOptions writeOptions;
    private final Statistics statistics;

    private StatusStore(Path dir, long cacheBytes) throws RocksDBException {
        this.dir = dir;
        this.cacheBytes = cacheBytes;
        // One cache bounds the store's memory: blocks, indexes, filters and (charged to it) the write buffers.
        // Half of it is kept for index and filter blocks (RocksJava's LRUCache(long) keeps none, so polls of
        // random finished jobs pushed them out, and the next read of their file loaded a whole one again: a poll's
        // tail of several milliseconds at 1M jobs). Both are partitioned: a miss reads a 4 KiB partition, not a
        // file's whole index or filter, and only their top levels stay pinned.
        LRUCache cache = keep(new LRUCache(cacheBytes, -1, false, 0.5));
        WriteBufferManager buffers = keep(new WriteBufferManager(Math.max(4 << 20, cacheBytes / 4), cache));
        BloomFilter bloom = keep(new BloomFilter(10));
        BlockBasedTableConfig table = new BlockBasedTableConfig()
                .setBlockCache(cache)
                .setCacheIndexAndFilterBlocks(true)
                .setCacheIndexAndFilterBlocksWithHighPriority(true)
                .setIndexType(IndexType.kTwoLevelIndexSearch)
                .setPartitionFilters(true)
                .setMetadataBlockSize(4096)
                .setPinTopLevelIndexAndFilter(true)
                .setFilterPolicy(bloom);
        List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
        descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, family(table)));
        for (String name : FAMILIES) {
            descriptors.add(new ColumnFamilyDescriptor(name.getBytes(StandardCharsets.UTF_8), family(table)));
        }
        this.statistics = keep(new Statistics());
        DBOptions options = keep(new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true)
                .setStatistics(statistics)
                .setWriteBufferManager(buffers).setMaxBackgroundJobs(2).setMaxOpenFiles(512)
                .setAvoidFlushDuringShutdown(true));
        this.db = RocksDB.open(options, dir.toString(), descriptors, handles);
        this.status = handles.get(1);
        this.requests = handles.get(2);
        this.cancels = handles.get(3);
        this.byOwner = handles.get(4);
        this.live = handles.get(5);
        this.expiry = handles.get(6);
        this.meta = handles.get(7);
        this.families = List.copyOf(handles.subList(1, handles.size()));
        // The write-ahead log makes each batch survive a crash of the process; no fsync per batch (a lost host
        // loses its disk anyway, and the topics rebuild it).
        this.writeOptions = keep(new WriteOptions());
    }

    private ColumnFamilyOptions family(BlockBasedTableConfig table) {
        return keep(new ColumnFamilyOptions().setTableFormatConfig(table)
                .setCompressionType(CompressionType.LZ4_COMPRESSION)
                .setCompactionStyle(CompactionStyle.LEVEL)
                .setLevelCompactionDynamicLevelBytes(true));
    }

    private <T extends AutoCloseable> T keep(T resource) {
        resources.add(resource);
        return resource;
    }

    /**
     * Opens the store in {@code dir}, creating it when empty. A store of another {@linkplain #FORMAT format} is
     * dropped: the caller reads the topics again.
     *
     * @throws IllegalStateException when the directory cannot be opened, e.g. another process holds it
     */
    public static StatusStore open(Path dir, long cacheBytes) {
        try {
            Files.createDirectories(dir);
            StatusStore store = new StatusStore(dir, cacheBytes);
            byte[] format = store.db.get(store.meta, FORMAT_KEY);
            if (format != null && ByteBuffer.wrap(format).getInt() == 1) {
                store.copyLiveJobs();
                return store;
            }
            if (format != null && ByteBuffer.wrap(format).getInt() != FORMAT) {
                return store.wiped();
            }
            if (format == null) {
                store.db.put(store.meta, FORMAT_KEY, ByteBuffer.allocate(4).putInt(FORMAT).array());
            }
            return store;
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot open the status store in " + dir + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Brings a store of format 1 (a live job's mark was its bare id, with no copy) to this one: each live job's
     * status and request copied beside a mark of the new kind, at the cost of one start of format 1 (two point
     * reads a job), where dropping the store would read the topics again.
     */
    private void copyLiveJobs() throws RocksDBException {
        List<byte[]> marks = new ArrayList<>();
        try (RocksIterator it = db.newIterator(live)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                byte[] k = it.key();
                if (k.length < 2 || k[k.length - 2] != 0) { // not a copy made by a copying cut short
                    marks.add(k);
                }
            }
        }
        int slice = 10_000; // live jobs converted per batch
        for (int from = 0; from <= marks.size(); from += slice) {
            try (Batch b = batch()) {
                for (byte[] mark : marks.subList(from, Math.min(marks.size(), from + slice))) {
                    String id = new String(mark, StandardCharsets.UTF_8);
                    b.delete(live, mark);
                    byte[] snapshot = status(id);
                    byte[] request = get(requests, mark);
                    if (snapshot != null) {
                        b.live(id, snapshot);
                    }
                    if (snapshot != null && request != null) {
                        b.put(live, liveKey(id, LIVE_REQUEST), request);
                    }
                }
                if (from + slice > marks.size()) {
                    b.put(meta, FORMAT_KEY, ByteBuffer.allocate(4).putInt(FORMAT).array()); // with the last marks
                }
                b.commit();
            }
        }
    }

    /** Closes this store, deletes everything in it and opens it empty. */
    public StatusStore wiped() {
        close();
        try (Options options = new Options()) {
            RocksDB.destroyDB(dir.toString(), options);
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot delete the status store in " + dir + ": " + e.getMessage(), e);
        }
        return open(dir, cacheBytes);
    }

    /** The directory the store lives in. */
    public Path dir() {
        return dir;
    }

    // ---- reads (any thread) ----

    /** The job's folded status as stored (an event snapshot's bytes), or {@code null}. */
    public byte[] status(String id) {
        return get(status, key(id));
    }

    /** The job's first request as stored, or {@code null}. */
    public StoredRequest request(String id) {
        byte[] v = get(requests, key(id));
        return v == null ? null : storedRequest(v);
    }

    private static StoredRequest storedRequest(byte[] v) {
        ByteBuffer b = ByteBuffer.wrap(v);
        int partition = b.getInt();
        long offset = b.getLong();
        return new StoredRequest(partition, offset, Arrays.copyOfRange(v, 12, v.length));
    }

    /**
     * A job's request where it lies in {@code diffq.jobs}.
     *
     * @param bytes the record's value as read
     */
    public record StoredRequest(int partition, long offset, byte[] bytes) {
    }

    /** When a client asked to cancel the job, or {@code null}. */
    public Instant cancelAt(String id) {
        byte[] v = get(cancels, key(id));
        if (v == null) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(v);
        return Instant.ofEpochSecond(b.getLong(), b.getInt());
    }

    /** The next offset to read of every partition whose records the store holds. */
    public Map<TopicPartition, Long> offsets() {
        Map<TopicPartition, Long> offsets = new HashMap<>();
        byte[] prefix = key(OFFSET_PREFIX);
        try (RocksIterator it = db.newIterator(meta)) {
            for (it.seek(prefix); it.isValid() && startsWith(it.key(), prefix); it.next()) {
                String name = new String(it.key(), prefix.length, it.key().length - prefix.length,
                        StandardCharsets.UTF_8);
                int slash = name.lastIndexOf('/');
                offsets.put(new TopicPartition(name.substring(0, slash), Integer.parseInt(name.substring(slash + 1))),
                        ByteBuffer.wrap(it.value()).getLong());
            }
        }
        return offsets;
    }

    /** Jobs per finished state, as last written with {@link Batch#counts}. */
    public Map<JobState, Long> counts() {
        Map<JobState, Long> counts = new EnumMap<>(JobState.class);
        byte[] v = get(meta, COUNTS_KEY);
        if (v != null) {
            ByteBuffer b = ByteBuffer.wrap(v);
            for (JobState s : JobState.values()) {
                if (b.remaining() >= 8) {
                    counts.put(s, b.getLong());
                }
            }
        }
        return counts;
    }

    /**
     * Calls {@code action} with every job held {@linkplain Batch#live live}, in one scan of their copies (no point
     * read: a restart loads its live jobs at the pace of a sequential read, whatever the store's size).
     */
    public void forEachLive(Consumer<LiveCopy> action) {
        try (ReadOptions scan = new ReadOptions().setFillCache(false);
                RocksIterator it = db.newIterator(live, scan)) {
            String id = null;
            byte[] snapshot = null;
            StoredRequest request = null;
            for (it.seekToFirst(); it.isValid(); it.next()) {
                byte[] k = it.key();
                String of = new String(k, 0, k.length - 2, StandardCharsets.UTF_8);
                if (id != null && !id.equals(of)) {
                    if (snapshot != null) {
                        action.accept(new LiveCopy(id, snapshot, request));
                    }
                    snapshot = null;
                    request = null;
                }
                id = of;
                if (k[k.length - 1] == LIVE_STATUS) {
                    snapshot = it.value();
                } else {
                    request = storedRequest(it.value());
                }
            }
            if (snapshot != null) {
                action.accept(new LiveCopy(id, snapshot, request));
            }
        }
    }

    /**
     * A live job's copy as stored beside its live mark.
     *
     * @param snapshot its status as {@link #status} holds it
     * @param request  its request as {@link #request} holds it; {@code null} while not read
     */
    public record LiveCopy(String id, byte[] snapshot, StoredRequest request) {
    }

    /** A job's place in the lists: its acceptance time and id. */
    public record Place(Instant createdAt, String id) {
    }

    /**
     * Up to {@code n} jobs of any of {@code owners} in any of {@code states}, newest first (acceptance time,
     * then the greater id), strictly after {@code after} in that order (or from the newest when {@code null}).
     * Reads one snapshot of the index; costs O(owners × states × log n + n), not a scan of all jobs.
     */
    public List<Place> page(List<String> owners, Set<JobState> states, Place after, int n) {
        List<Place> page = new ArrayList<>();
        List<RocksIterator> iterators = new ArrayList<>();
        Snapshot snapshot = db.getSnapshot();
        try (ReadOptions read = new ReadOptions().setSnapshot(snapshot)) {
            // Each walk stands on its next job; the newest of them is taken next.
            PriorityQueue<Walk> walks = new PriorityQueue<>(Comparator.comparing(Walk::suffix,
                    Arrays::compareUnsigned).reversed());
            for (String owner : owners) {
                for (JobState state : states) {
                    byte[] prefix = indexPrefix(owner, state);
                    RocksIterator it = db.newIterator(byOwner, read);
                    iterators.add(it);
                    byte[] start = after == null ? concat(prefix, AFTER_ALL) : concat(prefix, place(after));
                    it.seekForPrev(start);
                    if (after != null && it.isValid() && Arrays.equals(it.key(), start)) {
                        it.prev();
                    }
                    Walk w = new Walk(prefix, it);
                    if (w.valid()) {
                        walks.add(w);
                    }
                }
            }
            while (page.size() < n && !walks.isEmpty()) {
                Walk w = walks.poll();
                page.add(decodePlace(w.suffix()));
                w.it.prev();
                if (w.valid()) {
                    walks.add(w);
                }
            }
        } finally {
            iterators.forEach(RocksIterator::close);
            db.releaseSnapshot(snapshot);
        }
        return page;
    }

    /** An iterator over one owner's jobs in one state, walking from newer to older. */
    private static final class Walk {
        private final byte[] prefix;
        private final RocksIterator it;
        private byte[] suffix;

        Walk(byte[] prefix, RocksIterator it) {
            this.prefix = prefix;
            this.it = it;
        }

        boolean valid() {
            if (!it.isValid() || !startsWith(it.key(), prefix)) {
                return false;
            }
            byte[] k = it.key();
            suffix = Arrays.copyOfRange(k, prefix.length, k.length);
            return true;
        }

        byte[] suffix() {
            return suffix;
        }
    }

    /** Up to {@code max} entries of the retention sweep due at or before {@code now}, oldest first. */
    public List<Due> due(Instant now, int max) {
        List<Due> due = new ArrayList<>();
        try (RocksIterator it = db.newIterator(expiry)) {
            for (it.seekToFirst(); it.isValid() && due.size() < max; it.next()) {
                ByteBuffer b = ByteBuffer.wrap(it.key());
                long at = b.getLong() ^ Long.MIN_VALUE;
                if (at > now.toEpochMilli()) {
                    break;
                }
                due.add(new Due(Instant.ofEpochMilli(at), new String(it.key(), 8, it.key().length - 8,
                        StandardCharsets.UTF_8)));
            }
        }
        return due;
    }

    /** An entry of the retention sweep: look at job {@code id} at {@code at}. */
    public record Due(Instant at, String id) {
    }

    /** A RocksDB property summed over the families (e.g. {@code rocksdb.estimate-live-data-size}). */
    public long property(String name) {
        long sum = 0;
        try {
            for (ColumnFamilyHandle h : families) {
                sum += db.getLongProperty(h, name);
            }
        } catch (RocksDBException e) {
            return -1;
        }
        return sum;
    }

    /** Bytes the store holds outside the heap: its write buffers and its (shared) read cache. */
    public long memory() {
        try {
            return property("rocksdb.cur-size-all-mem-tables") + db.getLongProperty(status, "rocksdb.block-cache-usage");
        } catch (RocksDBException e) {
            return -1;
        }
    }

    /** Reads of each kind of block that missed the read cache since the store opened, and the bytes they loaded. */
    public CacheMisses cacheMisses() {
        return new CacheMisses(statistics.getTickerCount(TickerType.BLOCK_CACHE_INDEX_MISS),
                statistics.getTickerCount(TickerType.BLOCK_CACHE_INDEX_BYTES_INSERT),
                statistics.getTickerCount(TickerType.BLOCK_CACHE_FILTER_MISS),
                statistics.getTickerCount(TickerType.BLOCK_CACHE_FILTER_BYTES_INSERT),
                statistics.getTickerCount(TickerType.BLOCK_CACHE_DATA_MISS),
                statistics.getTickerCount(TickerType.BLOCK_CACHE_DATA_BYTES_INSERT));
    }

    /** Cache misses by kind of block (index, filter, data): how many, and the bytes they brought in. */
    public record CacheMisses(long index, long indexBytes, long filter, long filterBytes, long data, long dataBytes) {
    }

    /** Writes what the write buffers hold to files and compacts every family (tests: a store as a long run leaves it). */
    void compact() {
        try {
            for (ColumnFamilyHandle h : families) {
                db.compactRange(h);
            }
        } catch (RocksDBException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A new batch of writes; nothing is stored before {@link Batch#commit()}. */
    public Batch batch() {
        return new Batch();
    }

    /** Writes that reach the store together, or not at all (after a crash too). */
    public final class Batch implements AutoCloseable {

        private final WriteBatch batch = new WriteBatch();

        private Batch() {
        }

        public Batch status(String id, byte[] snapshot) {
            return put(status, key(id), snapshot);
        }

        public Batch request(String id, int partition, long offset, byte[] bytes) {
            return put(requests, key(id), requestValue(partition, offset, bytes));
        }

        public Batch cancel(String id, Instant at) {
            return put(cancels, key(id), ByteBuffer.allocate(12).putLong(at.getEpochSecond()).putInt(at.getNano())
                    .array());
        }

        /** Lists the job under {@code owner} (no owner: {@code ""}) and under {@link #EVERYONE}. */
        public Batch index(String owner, JobState state, Place place) {
            put(byOwner, concat(indexPrefix(owner, state), place(place)), NOTHING);
            return put(byOwner, concat(indexPrefix(EVERYONE, state), place(place)), NOTHING);
        }

        /** Undoes {@link #index} with the same arguments. */
        public Batch unindex(String owner, JobState state, Place place) {
            delete(byOwner, concat(indexPrefix(owner, state), place(place)));
            return delete(byOwner, concat(indexPrefix(EVERYONE, state), place(place)));
        }

        /**
         * Marks the job live with a copy of its status ({@link #status}'s bytes), read back by {@link #forEachLive}.
         */
        public Batch live(String id, byte[] snapshot) {
            return put(live, liveKey(id, LIVE_STATUS), snapshot);
        }

        /** Keeps a copy of a live job's request ({@link #request}'s arguments) beside its live mark. */
        public Batch liveRequest(String id, int partition, long offset, byte[] bytes) {
            return put(live, liveKey(id, LIVE_REQUEST), requestValue(partition, offset, bytes));
        }

        /** Drops the job's live mark and copies: it finished. */
        public Batch ended(String id) {
            delete(live, liveKey(id, LIVE_STATUS));
            return delete(live, liveKey(id, LIVE_REQUEST));
        }

        /** Asks the retention sweep to look at the job at {@code at}. */
        public Batch expiry(Instant at, String id) {
            return put(expiry, expiryKey(at, id), NOTHING);
        }

        /** Forgets the job: its status, request, cancel and live mark (its index entries go with {@link #unindex}). */
        public Batch forget(String id) {
            delete(status, key(id));
            delete(requests, key(id));
            delete(cancels, key(id));
            return ended(id);
        }

        /** Done with a sweep entry. */
        public Batch swept(Due due) {
            return delete(expiry, expiryKey(due.at(), due.id()));
        }

        /** The next offset to read of each partition: what this batch (and every one before) holds. */
        public Batch offsets(Map<TopicPartition, Long> next) {
            next.forEach((tp, offset) -> put(meta, key(OFFSET_PREFIX + tp.topic() + "/" + tp.partition()),
                    ByteBuffer.allocate(8).putLong(offset).array()));
            return this;
        }

        public Batch counts(Map<JobState, Long> counts) {
            ByteBuffer b = ByteBuffer.allocate(8 * JobState.values().length);
            for (JobState s : JobState.values()) {
                b.putLong(counts.getOrDefault(s, 0L));
            }
            return put(meta, COUNTS_KEY, b.array());
        }

        /** Stores everything in this batch, atomically. */
        public void commit() {
            try {
                db.write(writeOptions, batch);
            } catch (RocksDBException e) {
                throw new IllegalStateException("status store write failed: " + e.getMessage(), e);
            }
        }

        private Batch put(ColumnFamilyHandle cf, byte[] k, byte[] v) {
            try {
                batch.put(cf, k, v);
            } catch (RocksDBException e) {
                throw new IllegalStateException(e);
            }
            return this;
        }

        private Batch delete(ColumnFamilyHandle cf, byte[] k) {
            try {
                batch.delete(cf, k);
            } catch (RocksDBException e) {
                throw new IllegalStateException(e);
            }
            return this;
        }

        @Override
        public void close() {
            batch.close();
        }
    }

    private byte[] get(ColumnFamilyHandle cf, byte[] k) {
        try {
            return db.get(cf, k);
        } catch (RocksDBException e) {
            throw new IllegalStateException("status store read failed: " + e.getMessage(), e);
        }
    }

    private static byte[] key(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] requestValue(int partition, long offset, byte[] bytes) {
        return ByteBuffer.allocate(12 + bytes.length).putInt(partition).putLong(offset).put(bytes).array();
    }

    /** A live copy's key: the id, a zero byte (so one job's copies lie together, before any longer id's), a kind. */
    private static byte[] liveKey(String id, byte kind) {
        return concat(key(id), new byte[] {0, kind});
    }

    private static byte[] indexPrefix(String owner, JobState state) {
        byte[] o = key(owner);
        return ByteBuffer.allocate(o.length + 2).put(o).put((byte) 0).put((byte) state.ordinal()).array();
    }

    /** A place as index bytes: the time (signed seconds made unsigned, nanos), then the id; ordered as they are. */
    private static byte[] place(Place p) {
        byte[] id = key(p.id());
        return ByteBuffer.allocate(12 + id.length).putLong(p.createdAt().getEpochSecond() ^ Long.MIN_VALUE)
                .putInt(p.createdAt().getNano()).put(id).array();
    }

    private static Place decodePlace(byte[] suffix) {
        ByteBuffer b = ByteBuffer.wrap(suffix);
        Instant at = Instant.ofEpochSecond(b.getLong() ^ Long.MIN_VALUE, b.getInt());
        return new Place(at, new String(suffix, 12, suffix.length - 12, StandardCharsets.UTF_8));
    }

    private static byte[] expiryKey(Instant at, String id) {
        byte[] i = key(id);
        return ByteBuffer.allocate(8 + i.length).putLong(at.toEpochMilli() ^ Long.MIN_VALUE).put(i).array();
    }

    private static boolean startsWith(byte[] k, byte[] prefix) {
        return k.length >= prefix.length && Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static byte[] filled(int n, byte value) {
        byte[] b = new byte[n];
        Arrays.fill(b, value);
        return b;
    }

    @Override
    public void close() {
        handles.forEach(ColumnFamilyHandle::close);
        handles.clear();
        db.close();
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        resources.clear();
    }
}
