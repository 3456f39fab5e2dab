package org.allcds.cds.fhirdata;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Bounds on calls to an EHR's FHIR server when a prefetch key is missing.
 *
 * @param connectTimeout TCP connect (and pool) timeout
 * @param readTimeout socket read timeout per response
 * @param maxPages search result pages followed per prefetch key; more is an error, never a partial record
 */
@ConfigurationProperties(prefix = "all-cds.fhir-server")
public record FhirServerSettings(Duration connectTimeout, Duration readTimeout, Integer maxPages) {

    public FhirServerSettings {
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(2) : connectTimeout;
        readTimeout = readTimeout == null ? Duration.ofSeconds(5) : readTimeout;
        maxPages = maxPages == null ? 20 : maxPages;
    }
}
