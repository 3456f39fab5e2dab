package org.allcds.cds.security;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * CDS Hooks 2.0 authentication: every hook call and feedback call carries {@code Authorization: Bearer <JWT>}
 * signed by an allowed EHR; discovery ({@code GET /cds-services}) and CORS preflights ({@code OPTIONS}) stay open.
 *
 * <p>A plain servlet filter rather than Spring Security's resource server: the CDS Hooks rules (a
 * per-issuer {@code jku} allowlist with a fallback JWKS URL, {@code jti} replay protection, the issuer
 * handed on to the fhirServer guard) would all be custom code inside Spring Security anyway, and the
 * filter chain, session and CSRF machinery it brings have no use in a stateless JSON service. The
 * cryptography and claim checks are nimbus-jose-jwt's ({@link JwtVerifier}).
 *
 * <p>On success the verified issuer is stored in the request attribute {@link #ISSUER_ATTRIBUTE}.
 * On failure: 401, {@code WWW-Authenticate: Bearer}, and a JSON error that says only that the token is
 * missing or was rejected; the precise reason goes to the log (never the token).
 */
public class CdsHooksAuthFilter extends OncePerRequestFilter {

    private static final Logger log = LoggerFactory.getLogger(CdsHooksAuthFilter.class);
    public static final String ISSUER_ATTRIBUTE = "org.allcds.cds.security.issuer";
    /** The verified token's {@code sub} (the ledger records who was shown a card). */
    public static final String SUBJECT_ATTRIBUTE = "org.allcds.cds.security.subject";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SERVICES = "/cds-services";

    private final JwtVerifier verifier;

    public CdsHooksAuthFilter(JwtVerifier verifier) {
        this.verifier = verifier;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        if (HttpMethod.OPTIONS.matches(request.getMethod())) {
            return true; // CORS preflight carries no credentials (Fetch spec)
        }
        // the decoded, normalized path that routing uses (never the raw URI, which can spell it otherwise);
        // compared ignoring case so that case-insensitive routing could not open a way round it either
        String path = routedPath(request);
        while (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        boolean underServices = path.equalsIgnoreCase(SERVICES)
                || path.regionMatches(true, 0, SERVICES + "/", 0, SERVICES.length() + 1);
        boolean discovery = path.equals(SERVICES)
                && (HttpMethod.GET.matches(request.getMethod()) || HttpMethod.HEAD.matches(request.getMethod()));
        return discovery || !underServices;
    }

    /** The path the request is routed on (protection and the token's aud are decided on it): never the raw URI. */
    private static String routedPath(HttpServletRequest request) {
        String servletPath = request.getServletPath() == null ? "" : request.getServletPath();
        return request.getPathInfo() == null ? servletPath : servletPath + request.getPathInfo();
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String header = request.getHeader("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7) || header.substring(7).isBlank()) {
            unauthorized(response, "Bearer realm=\"cds-services\"",
                    "authentication required: send a CDS Hooks JWT as 'Authorization: Bearer <token>'");
            return;
        }
        String endpoint = routedPath(request);
        try {
            JwtVerifier.VerifiedCaller caller = verifier.verify(header.substring(7).trim(), endpoint);
            request.setAttribute(ISSUER_ATTRIBUTE, caller.issuer());
            request.setAttribute(SUBJECT_ATTRIBUTE, caller.subject());
        } catch (JwtVerifier.Rejected e) {
            log.info("401 on {} {}: {}", LogText.quoted(request.getMethod(), 16), LogText.quoted(endpoint, 200),
                    LogText.quoted(e.getMessage(), 300));
            unauthorized(response, "Bearer realm=\"cds-services\", error=\"invalid_token\"",
                    "the bearer token was rejected (invalid, expired, replayed or from an unknown issuer)");
            return;
        }
        chain.doFilter(request, response);
    }

    private static void unauthorized(HttpServletResponse response, String challenge, String message) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", "unauthorized");
        body.put("message", message);
        body.put("status", 401);
        response.setStatus(401);
        response.setHeader("WWW-Authenticate", challenge);
        response.setHeader("Cache-Control", "no-store");
        // answered before the body is read: the connection closes after it (UnreadBodyValve), and says so, so
        // a client keeping connections for its next call does not send it on a closed one
        response.setHeader("Connection", "close");
        response.setContentType(MediaType.APPLICATION_JSON_VALUE);
        JSON.writeValue(response.getOutputStream(), body);
    }
}
