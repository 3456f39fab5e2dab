package org.allcds.cds.problems;

import org.springframework.http.HttpStatus;

/**
 * A request the service refuses or cannot complete, with the HTTP status and a message meant for
 * the EHR integrator. Thrown from any layer; the edge turns it into a JSON error (never a card).
 */
public class RequestProblem extends RuntimeException {

    private final HttpStatus status;
    private final String code;

    public RequestProblem(HttpStatus status, String code, String message) {
        super(message);
        this.status = status;
        this.code = code;
    }

    public RequestProblem(HttpStatus status, String code, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.code = code;
    }

    public HttpStatus status() {
        return status;
    }

    /** A stable, machine-readable error code, e.g. {@code prefetch-wrong-type}. */
    public String code() {
        return code;
    }

    public static RequestProblem badRequest(String code, String message) {
        return new RequestProblem(HttpStatus.BAD_REQUEST, code, message);
    }
}
