package org.allcds.cds.hooks;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import java.util.Map;
import org.springframework.boot.web.servlet.error.ErrorController;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The container's error page ({@code /error}, where Tomcat forwards a status or exception that no
 * handler answered): a JSON error with the real status, for any Accept header. Requested directly,
 * {@code /error} is not an endpoint: 404, not Spring Boot's {@code "status": 999}.
 */
@RestController
public class ErrorEndpoint implements ErrorController {

    @RequestMapping(path = "${server.error.path:/error}", produces = MediaType.ALL_VALUE)
    public ResponseEntity<Map<String, Object>> error(HttpServletRequest request) {
        Object status = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        int code = status instanceof Integer s && s >= 400 && s <= 599 ? s : 404;
        return ResponseEntity.status(code).contentType(MediaType.APPLICATION_JSON)
                .header("Cache-Control", "no-store").body(ErrorResponses.bodyForStatus(code));
    }
}
