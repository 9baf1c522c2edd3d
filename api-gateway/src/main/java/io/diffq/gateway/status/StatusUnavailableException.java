package io.diffq.gateway.status;

/**
 * A job the status view does not know, while the view cannot read to the end of the topics (the broker is
 * out of reach, or the view far behind): whether the job exists cannot be told now, so no {@code 404}.
 */
public class StatusUnavailableException extends RuntimeException {

    StatusUnavailableException(String id) {
        super("job " + id + " is not in this gateway's view, and the job topics cannot be read right now to "
                + "find out whether it exists; retry later");
    }
}
