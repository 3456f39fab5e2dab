package org.allcds.cds.fhirdata;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import java.util.ArrayList;
import java.util.List;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.cds.security.FhirServerGuard;
import org.allcds.cds.security.GuardedFhirClients;
import org.allcds.cds.security.ResponseSizeLimit;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;

/**
 * Fetches a prefetch template's data from the hook's {@code fhirServer} with the HAPI client and
 * its bearer token. Bounded: timeouts (set on the shared FhirContext), a page limit, and next-page
 * links that must stay on the same server so the token never leaves it.
 * Before any connection, {@link FhirServerGuard} checks the fhirServer for the calling issuer (SSRF);
 * the HTTP client under HAPI ({@link GuardedFhirClients}) follows no redirects, re-checks addresses at
 * connect time and bounds response sizes.
 */
@Component
public class FhirServerFetcher {

    private final FhirContext fhirContext;
    private final FhirServerSettings settings;
    private final FhirServerGuard guard;
    private final GuardedFhirClients clients;

    public FhirServerFetcher(FhirContext fhirContext, FhirServerSettings settings, FhirServerGuard guard,
            GuardedFhirClients clients) {
        this.fhirContext = fhirContext;
        this.settings = settings;
        this.guard = guard;
        this.clients = clients;
    }

    /** Reads one resource, e.g. {@code Patient/123}. */
    public Resource read(FhirServerAccess access, String relativeUrl) {
        IGenericClient client = client(access);
        try {
            return (Resource) client.fetchResourceFromUrl(
                    fhirContext.getResourceDefinition(relativeUrl.substring(0, relativeUrl.indexOf('/'))).getImplementingClass(),
                    absolute(access, relativeUrl));
        } catch (RuntimeException e) {
            throw translate(access, relativeUrl, e);
        }
    }

    /** Runs a search and follows its pages; returns every entry resource. */
    public List<Resource> search(FhirServerAccess access, String relativeUrl) {
        IGenericClient client = client(access);
        String base = normalizedBase(access);
        List<Resource> resources = new ArrayList<>();
        try {
            Bundle page = client.search().byUrl(absolute(access, relativeUrl)).returnBundle(Bundle.class).execute();
            int pages = 1;
            while (true) {
                for (Bundle.BundleEntryComponent entry : page.getEntry()) {
                    if (entry.hasResource()) {
                        resources.add(entry.getResource());
                    }
                }
                Bundle.BundleLinkComponent next = page.getLink(Bundle.LINK_NEXT);
                if (next == null || !next.hasUrl()) {
                    return resources;
                }
                if (!sameServer(base, next.getUrl())) {
                    throw new RequestProblem(HttpStatus.BAD_GATEWAY, "fhir-server-foreign-link",
                            "fhirServer returned a next-page link to another server; not followed");
                }
                if (++pages > settings.maxPages()) {
                    throw new RequestProblem(HttpStatus.BAD_GATEWAY, "fhir-server-too-many-pages",
                            "fhirServer search " + relativeUrl + " has more than " + settings.maxPages()
                                    + " pages; refusing to decide on a partial record");
                }
                page = client.loadPage().next(page).execute();
            }
        } catch (RuntimeException e) {
            throw translate(access, relativeUrl, e);
        }
    }

    /**
     * A next-page link stays on the fhirServer: same scheme, host and port, and a path at or under
     * the base path ({@code http://h/fhir?_getpages=…} is the server's own paging link).
     */
    static boolean sameServer(String base, String link) {
        try {
            java.net.URI b = java.net.URI.create(base).normalize();
            java.net.URI l = java.net.URI.create(link).normalize();
            if (!l.isAbsolute() || l.getHost() == null || l.getRawUserInfo() != null
                    || !b.getScheme().equalsIgnoreCase(l.getScheme()) || !b.getHost().equalsIgnoreCase(l.getHost())
                    || port(b) != port(l)) {
                return false;
            }
            String basePath = b.getRawPath() == null ? "" : b.getRawPath().replaceAll("/+$", "");
            String linkPath = l.getRawPath() == null ? "" : l.getRawPath();
            return linkPath.equals(basePath) || linkPath.equals(basePath + "/") || linkPath.startsWith(basePath + "/");
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static int port(java.net.URI uri) {
        return uri.getPort() != -1 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private IGenericClient client(FhirServerAccess access) {
        guard.check(access.baseUrl(), access.issuer()); // before any connection: 400 fhir-server-not-allowed
        IGenericClient client = clients.newClient(normalizedBase(access));
        if (access.accessToken() != null) {
            client.registerInterceptor(new BearerTokenAuthInterceptor(access.accessToken()));
        }
        return client;
    }

    private static String normalizedBase(FhirServerAccess access) {
        String base = access.baseUrl();
        return base.endsWith("/") ? base : base + "/";
    }

    private static String absolute(FhirServerAccess access, String relativeUrl) {
        return normalizedBase(access) + relativeUrl;
    }

    private static RuntimeException translate(FhirServerAccess access, String what, RuntimeException e) {
        if (e instanceof RequestProblem p) {
            return p;
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof FhirServerGuard.ForbiddenAddressException) {
                return RequestProblem.badRequest(FhirServerGuard.REFUSED, "fhirServer is not an allowed FHIR server for this caller");
            }
            if (c instanceof ResponseSizeLimit.ResponseTooLargeException) {
                return new RequestProblem(HttpStatus.BAD_GATEWAY, "fhir-server-response-too-large",
                        "fhirServer response for " + what + " exceeds the configured size limit; refusing to decide on a partial record", e);
            }
        }
        if (e instanceof FhirClientConnectionException) {
            return new RequestProblem(HttpStatus.GATEWAY_TIMEOUT, "fhir-server-unreachable",
                    "fhirServer " + access.baseUrl() + " did not answer for " + what + " within the configured timeout", e);
        }
        if (e instanceof BaseServerResponseException s) {
            return new RequestProblem(HttpStatus.BAD_GATEWAY, "fhir-server-error",
                    "fhirServer answered HTTP " + s.getStatusCode() + " for " + what, e);
        }
        return new RequestProblem(HttpStatus.BAD_GATEWAY, "fhir-server-error",
                "fhirServer response for " + what + " could not be read", e);
    }
}
