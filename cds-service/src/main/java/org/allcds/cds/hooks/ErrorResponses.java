package org.allcds.cds.hooks;

import java.util.LinkedHashMap;
import java.util.Map;
import org.allcds.cds.cards.CardFactory;
import org.allcds.cds.problems.RequestProblem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.servlet.resource.NoResourceFoundException;

/**
 * Every failure becomes a JSON error {@code {"error": code, "message": text}} with the right status:
 * never a stack trace, never a card. Unexpected failures are logged here, with their cause.
 */
@RestControllerAdvice
public class ErrorResponses {

    private static final Logger log = LoggerFactory.getLogger(ErrorResponses.class);

    @ExceptionHandler(RequestProblem.class)
    public ResponseEntity<Map<String, Object>> problem(RequestProblem p) {
        if (p.status().is5xxServerError()) {
            log.warn("{}: {}", p.code(), p.getMessage());
        }
        return error(p.status(), p.code(), p.getMessage());
    }

    @ExceptionHandler(HttpMediaTypeNotSupportedException.class)
    public ResponseEntity<Map<String, Object>> mediaType(HttpMediaTypeNotSupportedException e) {
        return error(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type",
                "send the request as application/json (got " + e.getContentType() + ")");
    }

    @ExceptionHandler(HttpMediaTypeNotAcceptableException.class)
    public ResponseEntity<Map<String, Object>> notAcceptable(HttpMediaTypeNotAcceptableException e) {
        return error(HttpStatus.NOT_ACCEPTABLE, "not-acceptable", "this service answers application/json only");
    }

    @ExceptionHandler(HttpRequestMethodNotSupportedException.class)
    public ResponseEntity<Map<String, Object>> method(HttpRequestMethodNotSupportedException e) {
        return error(HttpStatus.METHOD_NOT_ALLOWED, "method-not-allowed", e.getMethod() + " is not supported here");
    }

    @ExceptionHandler(NoResourceFoundException.class)
    public ResponseEntity<Map<String, Object>> notFound(NoResourceFoundException e) {
        return error(HttpStatus.NOT_FOUND, "not-found", "no such endpoint; GET /cds-services lists the services");
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    public ResponseEntity<Map<String, Object>> unreadable(HttpMessageNotReadableException e) {
        return error(HttpStatus.BAD_REQUEST, "malformed-json", "request body could not be read as JSON");
    }

    @ExceptionHandler(CardFactory.IncompleteCardException.class)
    public ResponseEntity<Map<String, Object>> incomplete(CardFactory.IncompleteCardException e) {
        log.error("refused to return an incomplete card: {}", e.getMessage());
        return error(HttpStatus.INTERNAL_SERVER_ERROR, "incomplete-card",
                "the service could not build a complete answer; no cards were returned");
    }

    /**
     * The CQL engine refusing a value the parser let through (a record it cannot compute on): the
     * request's data is at fault as far as the EHR can act on it, so a 422, never a card.
     */
    @ExceptionHandler(org.opencds.cqf.cql.engine.exception.CqlException.class)
    public ResponseEntity<Map<String, Object>> unevaluable(org.opencds.cqf.cql.engine.exception.CqlException e) {
        log.warn("CQL evaluation refused the record", e);
        return error(HttpStatus.UNPROCESSABLE_ENTITY, "unevaluable-record",
                "the patient's record holds a value the decision logic cannot evaluate; no cards were returned");
    }

    @ExceptionHandler(Exception.class)
    public ResponseEntity<Map<String, Object>> unexpected(Exception e) {
        log.error("hook evaluation failed", e);
        return error(HttpStatus.INTERNAL_SERVER_ERROR, "internal-error",
                "the service failed while evaluating this request; no cards were returned");
    }

    static ResponseEntity<Map<String, Object>> error(HttpStatus status, String code, String message) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", code);
        body.put("message", message);
        body.put("status", status.value());
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON).body(body);
    }
}
