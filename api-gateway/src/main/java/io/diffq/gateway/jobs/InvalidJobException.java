package io.diffq.gateway.jobs;

import java.util.List;

/** A job request that cannot be accepted as sent; each error names the field at fault. */
public class InvalidJobException extends RuntimeException {

    /**
     * One problem with one field.
     *
     * @param field   the JSON field, or {@code (body)} for the body as a whole
     * @param message what is wrong with it
     */
    public record FieldError(String field, String message) {
    }

    private final transient List<FieldError> errors;

    public InvalidJobException(List<FieldError> errors) {
        super(errors.get(0).field() + ": " + errors.get(0).message());
        this.errors = List.copyOf(errors);
    }

    public static InvalidJobException of(String field, String message) {
        return new InvalidJobException(List.of(new FieldError(field, message)));
    }

    public List<FieldError> errors() {
        return errors;
    }
}
