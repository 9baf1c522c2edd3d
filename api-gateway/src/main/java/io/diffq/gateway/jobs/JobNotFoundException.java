package io.diffq.gateway.jobs;

/** No job has this id (or it finished longer ago than the status retention). */
public class JobNotFoundException extends RuntimeException {

    public JobNotFoundException(String id) {
        super("no job with id " + id);
    }
}
