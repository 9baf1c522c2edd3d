package io.diffq.gateway.status;

import java.time.Instant;

/**
 * Where a queued job stands (see {@link QueueOrder} for what "ahead" means).
 *
 * @param position          how many jobs of the same model are ahead of it; 0 when it is next
 * @param estimatedStartAt  when a worker should start it: now plus the jobs ahead over the fleet's recent
 *                          throughput for the model (or, before any finished in the last minute, the model's
 *                          recent time per job over its active workers); absent while neither is known
 * @param estimatedFinishAt its start plus the model's recent device time per job; absent while not known
 */
public record QueuePosition(long position, Instant estimatedStartAt, Instant estimatedFinishAt) {
}
