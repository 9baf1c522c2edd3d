package io.diffq.gateway.kafka;

/** Kafka could not take or give a record in time: the client should retry later. */
public class KafkaUnavailableException extends RuntimeException {

    public KafkaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
