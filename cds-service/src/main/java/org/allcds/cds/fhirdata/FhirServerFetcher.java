package org.allcds.cds.fhirdata;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.exceptions.FhirClientConnectionException;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.cds.security.FhirServerCallBudget;
import org.allcds.cds.security.FhirServerGuard;
import org.allcds.cds.security.GuardedFhirClients;
import org.allcds.cds.security.ResponseSizeLimit;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;

/**
 * Fetches a prefetch template's data from the hook's {@code fhirServer} with the HAPI client and
 * its bearer token. Bounded per hook call ({@link #call}): one budget of bytes and resources and one
 * deadline for every key and page, so a long record is read whole or refused, never held half-read
 * beyond the budget; searches ask for large pages ({@code _count}); a page cap per search as a sanity
 * bound; next-page links must stay on the same server so the token never leaves it.
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

    /**
     * Starts the fetching of one hook call: checks the fhirServer (400 {@code fhir-server-not-allowed}, before
     * any connection) and starts the call's budget and deadline, shared by everything fetched through it.
     */
    public Call call(FhirServerAccess access) {
        guard.check(access.baseUrl(), access.issuer());
        IGenericClient client = clients.newClient(normalizedBase(access));
        if (access.accessToken() != null) {
            client.registerInterceptor(new BearerTokenAuthInterceptor(access.accessToken()));
        }
        return new BudgetedCall(access, client, new FhirServerCallBudget(settings.maxCallBytes(), settings.maxCallResources(),
                settings.callDeadline()));
    }

    /** The fetching of one hook call from its fhirServer. Past its budget: 502 {@code fhir-server-too-large}; past its deadline: 504. */
    public interface Call {
        /** Reads one resource, e.g. {@code Patient/123}. */
        Resource read(String relativeUrl);

        /** Runs a search, asking for {@code page-size} results a page, and follows its pages; returns every entry resource. */
        List<Resource> search(String relativeUrl);

        /**
         * The search page at {@code nextUrl} (a prefetch Bundle's {@code next} link) and every page after it; every
         * entry resource. The link must be on the fhirServer ({@link #sameServer}): the token never leaves it.
         */
        List<Resource> pagesFrom(String nextUrl);
    }

    private final class BudgetedCall implements Call {
        private final FhirServerAccess access;
        private final IGenericClient client;
        private final FhirServerCallBudget budget;

        private BudgetedCall(FhirServerAccess access, IGenericClient client, FhirServerCallBudget budget) {
            this.access = access;
            this.client = client;
            this.budget = budget;
        }

        @Override
        public Resource read(String relativeUrl) {
            return fetch(relativeUrl, () -> {
                Class<? extends org.hl7.fhir.instance.model.api.IBaseResource> type = fhirContext
                        .getResourceDefinition(relativeUrl.substring(0, relativeUrl.indexOf('/'))).getImplementingClass();
                Resource resource = (Resource) client.fetchResourceFromUrl(type, absolute(access, relativeUrl));
                countResources(1, relativeUrl);
                return resource;
            });
        }

        @Override
        public List<Resource> search(String relativeUrl) {
            return fetch(relativeUrl, () -> allPages(relativeUrl, client.search()
                    .byUrl(absolute(access, withPageSize(relativeUrl, settings.pageSize()))).returnBundle(Bundle.class).execute()));
        }

        @Override
        public List<Resource> pagesFrom(String nextUrl) {
            if (!sameServer(normalizedBase(access), nextUrl)) {
                throw new RequestProblem(HttpStatus.BAD_REQUEST, "fhir-server-foreign-link",
                        "a prefetch next-page link is not on fhirServer; not followed");
            }
            String what = "a prefetch's next page";
            return fetch(what, () -> allPages(what, client.loadPage().byUrl(nextUrl).andReturnBundle(Bundle.class).execute()));
        }

        /** The entry resources of {@code page} and of every page after it, within the call's budget and deadline. */
        private List<Resource> allPages(String what, Bundle first) {
            String base = normalizedBase(access);
            List<Resource> resources = new ArrayList<>();
            Bundle page = first;
            int pages = 1;
            while (true) {
                countResources(page.getEntry().size(), what);
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
                            "fhirServer search " + what + " has more than " + settings.maxPages()
                                    + " pages; refusing to decide on a partial record");
                }
                if (budget.deadlinePassed()) {
                    throw timedOut(what, null);
                }
                page = client.loadPage().next(page).execute();
            }
        }

        private <T> T fetch(String what, java.util.function.Supplier<T> fetch) {
            if (budget.deadlinePassed()) {
                throw timedOut(what, null);
            }
            try {
                return budget.during(fetch);
            } catch (RuntimeException e) {
                throw translate(e, what);
            }
        }

        private void countResources(int count, String what) {
            if (!budget.addResources(count)) {
                throw tooLarge(what, "more than " + budget.maxResources() + " resources", null);
            }
        }

        private RuntimeException translate(RuntimeException e, String what) {
            if (e instanceof RequestProblem p) {
                return p;
            }
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof FhirServerGuard.ForbiddenAddressException) {
                    return RequestProblem.badRequest(FhirServerGuard.REFUSED, "fhirServer is not an allowed FHIR server for this caller");
                }
                if (c instanceof FhirServerCallBudget.CallTooLargeException) {
                    return tooLarge(what, "more than the configured bytes", e);
                }
                if (c instanceof ResponseSizeLimit.ResponseTooLargeException) {
                    return new RequestProblem(HttpStatus.BAD_GATEWAY, "fhir-server-response-too-large",
                            "fhirServer response for " + what + " exceeds the configured size limit; refusing to decide on a partial record", e);
                }
            }
            // whatever failed once the deadline passed (a read cut by the capped timeout, or the cut itself)
            if (budget.deadlinePassed()) {
                return timedOut(what, e);
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

        private RequestProblem timedOut(String what, Throwable cause) {
            return new RequestProblem(HttpStatus.GATEWAY_TIMEOUT, "fhir-server-timeout", "fhirServer " + access.baseUrl()
                    + " did not give this call's data (at " + what + ") within " + settings.callDeadline().toMillis()
                    + " ms; refusing to decide on a partial record", cause);
        }

        private static RequestProblem tooLarge(String what, String over, Throwable cause) {
            return new RequestProblem(HttpStatus.BAD_GATEWAY, "fhir-server-too-large", "fhirServer data for this call (at "
                    + what + ") is " + over + " allowed for one hook call; refusing to decide on a partial record", cause);
        }
    }

    /** {@code query} with {@code _count=pageSize} added, unless it asks for a page size of its own (or pageSize is 0). */
    static String withPageSize(String query, int pageSize) {
        int q = query.indexOf('?');
        if (pageSize <= 0) {
            return query;
        }
        if (q >= 0) {
            for (String parameter : query.substring(q + 1).split("&")) {
                if (parameter.equals("_count") || parameter.startsWith("_count=")) {
                    return query;
                }
            }
        }
        String separator = q < 0 ? "?" : query.endsWith("?") || query.endsWith("&") ? "" : "&";
        return query + separator + "_count=" + pageSize;
    }

    /**
     * A next-page link stays on the fhirServer: same scheme, host and port, and a path at or under
     * the base path ({@code http://h/fhir?_getpages=…} is the server's own paging link). A path with a dot
     * segment, or with an encoded dot, slash, backslash or percent sign, is refused whatever it seems to
     * name: a server (or proxy) that decodes before routing would take {@code /fhir/%2e%2e/admin} out of the base.
     */
    static boolean sameServer(String base, String link) {
        try {
            URI b = URI.create(base).normalize();
            URI l = URI.create(link);
            if (!l.isAbsolute() || l.getHost() == null || l.getRawUserInfo() != null
                    || !b.getScheme().equalsIgnoreCase(l.getScheme()) || !b.getHost().equalsIgnoreCase(l.getHost())
                    || port(b) != port(l)) {
                return false;
            }
            String linkPath = l.getRawPath() == null ? "" : l.getRawPath();
            if (!plainPath(linkPath)) {
                return false;
            }
            String basePath = b.getRawPath() == null ? "" : b.getRawPath().replaceAll("/+$", "");
            return linkPath.equals(basePath) || linkPath.equals(basePath + "/") || linkPath.startsWith(basePath + "/");
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** No {@code .} or {@code ..} segment once decoded, and no encoded {@code . / \ %}. */
    private static boolean plainPath(String rawPath) {
        String lower = rawPath.toLowerCase(Locale.ROOT);
        if (lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c") || lower.contains("%25")) {
            return false;
        }
        for (String segment : rawPath.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }

    private static int port(URI uri) {
        return uri.getPort() != -1 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private static String normalizedBase(FhirServerAccess access) {
        String base = access.baseUrl();
        return base.endsWith("/") ? base : base + "/";
    }

    private static String absolute(FhirServerAccess access, String relativeUrl) {
        return normalizedBase(access) + relativeUrl;
    }
}
