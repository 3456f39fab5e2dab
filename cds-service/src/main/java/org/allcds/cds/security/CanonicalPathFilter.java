package org.allcds.cds.security;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.allcds.cds.hooks.ErrorResponses;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Refuses, with a JSON 400, every request whose path is not already in normal form: path parameters
 * ({@code ;}), percent-escapes, backslashes, empty segments ({@code //}) or dot segments. Tomcat and
 * Spring route on the decoded, normalized path, so a second spelling of a path would otherwise reach a
 * handler while anything that looks at the raw URI (a filter, a proxy rule, a log alert) sees another
 * path. No endpoint of this service needs any of these characters.
 */
public class CanonicalPathFilter extends OncePerRequestFilter {

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (!isNormalForm(request.getRequestURI())) {
            response.setHeader("Cache-Control", "no-store");
            ErrorResponses.write(response, 400, "non-canonical-path",
                    "the request path must be in normal form: no ';', '%' escapes, '\\', '//' or '.'/'..' segments");
            return;
        }
        chain.doFilter(request, response);
    }

    /** True for an absolute path without path parameters, escapes, backslashes, empty or dot segments. */
    static boolean isNormalForm(String rawPath) {
        if (rawPath == null || rawPath.isEmpty() || rawPath.charAt(0) != '/') {
            return false;
        }
        int segmentStart = 1;
        for (int i = 1; i <= rawPath.length(); i++) {
            boolean end = i == rawPath.length();
            char c = end ? '/' : rawPath.charAt(i);
            if (c == ';' || c == '%' || c == '\\') {
                return false;
            }
            if (c == '/') {
                int length = i - segmentStart;
                if (length == 0 && !end) {
                    return false; // "//": only the last segment may be empty (a trailing slash)
                }
                if ((length == 1 && rawPath.startsWith(".", segmentStart))
                        || (length == 2 && rawPath.startsWith("..", segmentStart))) {
                    return false;
                }
                segmentStart = i + 1;
            }
        }
        return true;
    }
}
