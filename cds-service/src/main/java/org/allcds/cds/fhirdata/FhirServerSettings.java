package org.allcds.cds.fhirdata;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Bounds on calls to an EHR's FHIR server when a prefetch key is missing. The call budget (bytes,
 * resources, deadline) is one per hook call, shared by every key and page fetched for it: what binds
 * on a long record, never a partial record (past it the call fails).
 *
 * @param connectTimeout   TCP connect (and pool) timeout
 * @param readTimeout      socket read timeout, per read
 * @param maxPages         search result pages followed per prefetch key, a sanity bound; more is an error
 * @param pageSize         the {@code _count} asked of every search (unless the query has its own)
 * @param maxCallBytes     response bytes read for one hook call, all keys and pages together
 * @param maxCallResources resources read for one hook call, all keys and pages together
 * @param callDeadline     time for all of one hook call's fetching
 */
@ConfigurationProperties(prefix = "all-cds.fhir-server")
public record FhirServerSettings(Duration connectTimeout, Duration readTimeout, Integer maxPages, Integer pageSize,
        Long maxCallBytes, Integer maxCallResources, Duration callDeadline) {

    public FhirServerSettings {
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(2) : connectTimeout;
        readTimeout = readTimeout == null ? Duration.ofSeconds(5) : readTimeout;
        maxPages = maxPages == null ? 200 : maxPages;
        pageSize = pageSize == null ? 1000 : pageSize;
        maxCallBytes = maxCallBytes == null ? 32L * 1024 * 1024 : maxCallBytes;
        maxCallResources = maxCallResources == null ? 20_000 : maxCallResources;
        callDeadline = callDeadline == null ? Duration.ofSeconds(15) : callDeadline;
    }
}
