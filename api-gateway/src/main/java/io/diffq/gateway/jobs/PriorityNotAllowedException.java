package io.diffq.gateway.jobs;

import io.diffq.common.job.Priority;

/** A job asked for a priority above what its API key allows ({@code max-priority}). */
public class PriorityNotAllowedException extends RuntimeException {

    private final Priority maxPriority;

    public PriorityNotAllowedException(String key, Priority asked, Priority maxPriority) {
        super("key '" + key + "' may ask for priority " + maxPriority.apiName() + " at most, not " + asked.apiName());
        this.maxPriority = maxPriority;
    }

    /** The most the key may ask for. */
    public Priority maxPriority() {
        return maxPriority;
    }
}
