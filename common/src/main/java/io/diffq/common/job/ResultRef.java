package io.diffq.common.job;

/**
 * Where a job's image lies in {@code diffq.results}, so that a gateway fetches the bytes on demand
 * instead of holding every image in memory.
 */
public record ResultRef(int partition, long offset, String contentType, int sizeBytes) {
}
