package org.allcds.cds.ledger;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.MediaType;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Guards {@code /analytics} and everything below it with its own credential: {@code Authorization: Bearer <token>}
 * equal to {@code all-cds.analytics.token} (compared in constant time, over SHA-256 digests so the length does not
 * leak either). Never an EHR's JWT: the analytics are for the service's governance, not for EHRs. With no token
 * configured every request is refused, unless {@code all-cds.analytics.open} (the demo profile) opens them.
 */
public class AnalyticsAuthFilter extends OncePerRequestFilter {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final byte[] tokenDigest;
    private final boolean open;

    public AnalyticsAuthFilter(String token, boolean open) {
        this.tokenDigest = token == null || token.isBlank() ? null : digest(token);
        this.open = open;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (open || authorized(request.getHeader("Authorization"))) {
            chain.doFilter(request, response);
            return;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", "unauthorized");
        body.put("message", tokenDigest == null
                ? "analytics are off: set all-cds.analytics.token and send it as 'Authorization: Bearer <token>'"
                : "send the analytics token (all-cds.analytics.token) as 'Authorization: Bearer <token>'");
        body.put("status", 401);
        response.setStatus(401);
        response.setHeader("WWW-Authenticate", "Bearer realm=\"analytics\"");
        response.setHeader("Cache-Control", "no-store");
        response.setContentType(MediaType.APPLICATION_JSON_VALUE);
        JSON.writeValue(response.getOutputStream(), body);
    }

    private boolean authorized(String header) {
        if (tokenDigest == null || header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return MessageDigest.isEqual(tokenDigest, digest(header.substring(7).trim()));
    }

    private static byte[] digest(String text) {
        return LogicVersion.sha256().digest(text.getBytes(StandardCharsets.UTF_8));
    }
}
