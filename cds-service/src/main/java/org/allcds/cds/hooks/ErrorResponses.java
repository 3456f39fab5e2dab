package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
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
    private static final ObjectMapper JSON = new ObjectMapper();

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

    @ExceptionHandler(Exception.class)
    public ResponseEntity<Map<String, Object>> unexpected(Exception e) {
        log.error("hook evaluation failed", e);
        return error(HttpStatus.INTERNAL_SERVER_ERROR, "internal-error",
                "the service failed while evaluating this request; no cards were returned");
    }

    static ResponseEntity<Map<String, Object>> error(HttpStatus status, String code, String message) {
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON).body(body(status.value(), code, message));
    }

    /** The JSON error body every failure carries. */
    public static Map<String, Object> body(int status, String code, String message) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", code);
        body.put("message", message);
        body.put("status", status);
        return body;
    }

    /** Writes a JSON error outside Spring MVC (servlet filters, the container's own errors). */
    public static void write(HttpServletResponse response, int status, String code, String message) throws IOException {
        response.setStatus(status);
        response.setContentType(MediaType.APPLICATION_JSON_VALUE);
        response.setCharacterEncoding("UTF-8");
        response.getOutputStream().write(JSON.writeValueAsBytes(body(status, code, message)));
    }

    /** Error code and generic message for a status set by the container or a filter, with no detail to tell. */
    public static Map<String, Object> bodyForStatus(int status) {
        return switch (status) {
            case 400 -> body(status, "bad-request", "the request could not be read as HTTP (path, headers or length)");
            case 404 -> body(status, "not-found", "no such endpoint; GET /cds-services lists the services");
            case 405 -> body(status, "method-not-allowed", "this method is not supported here");
            case 408 -> body(status, "request-timeout", "the request was not received in time");
            case 413 -> body(status, "request-too-large", "the request is too large");
            case 414 -> body(status, "uri-too-long", "the request URI is too long");
            case 431 -> body(status, "headers-too-large", "the request headers are too large");
            default -> {
                HttpStatus known = HttpStatus.resolve(status);
                String reason = known == null ? "error" : known.getReasonPhrase();
                yield body(status, status >= 500 ? "internal-error" : reason.toLowerCase(java.util.Locale.ROOT).replace(' ', '-'),
                        status >= 500 ? "the service failed while handling this request" : reason);
            }
        };
    }
}
