package io.diffq.gateway.status;

import io.diffq.common.job.JobStatus;
import java.time.Instant;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The order in which the fleet will start the jobs waiting, as one gateway reads it from its view. Without lanes
 * the order is the log's ({@link QueueOrder}, built in {@link QueuePositions}); with lanes it is the dispatcher's
 * rule, which the {@code lanes} package provides as a bean of this type.
 */
public interface QueueOrdering {

    /** A snapshot of the order over the view's waiting jobs; {@link QueuePositions} asks at most twice a second. */
    Snapshot snapshot();

    /** One snapshot. */
    interface Snapshot {

        /**
         * How many waiting jobs the fleet will, in all likelihood, start before this one (0 when it is next);
         * empty when that cannot be told here.
         */
        OptionalLong ahead(JobStatus queued);

        /**
         * The models whose jobs take the devices {@code model}'s jobs would: the pace at which they finish is the
         * pace at which the jobs ahead drain. Holds {@code model} itself.
         */
        Set<String> sharing(String model);

        /** When the oldest waiting job of {@code model} was accepted; {@code null} when none waits. */
        Instant oldest(String model);
    }
}
