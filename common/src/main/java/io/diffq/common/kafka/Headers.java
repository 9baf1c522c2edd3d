package io.diffq.common.kafka;

/** Record header names. */
public final class Headers {

    /** On a result: the MIME type of the value. */
    public static final String CONTENT_TYPE = "diffq-content-type";
    /** On a result: the image width. */
    public static final String WIDTH = "diffq-width";
    /** On a result: the image height. */
    public static final String HEIGHT = "diffq-height";
    /** On a result: the model that made it. */
    public static final String MODEL = "diffq-model";
    /** On a dead letter: the failure, as JSON. */
    public static final String FAILURE = "diffq-failure";

    private Headers() {
    }
}
