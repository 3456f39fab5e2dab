package org.allcds.cds.security;

import java.util.List;
import java.util.Locale;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The SSRF side of {@code all-cds.fhir-server} (timeouts and pages are the data layer's
 * {@code FhirServerSettings}, bound to the same prefix).
 *
 * @param allowedBaseUrls   fhirServer base URLs accepted when authentication is off (with auth on, each issuer's {@code fhir-servers})
 * @param allowHttpHosts    hosts that may be reached over plain http (everything else: https only)
 * @param allowPrivateHosts hosts that may resolve to loopback, link-local, any-local, multicast, a metadata address
 *                          or a private range (10/8, 172.16/12, 192.168/16, 100.64/10, 192.0.0/24, fc00::/7)
 * @param maxResponseBytes  largest FHIR server response body read (per response, after decompression)
 */
@ConfigurationProperties(prefix = "all-cds.fhir-server")
public record FhirServerPolicy(List<String> allowedBaseUrls, List<String> allowHttpHosts, List<String> allowPrivateHosts,
        Long maxResponseBytes) {

    public FhirServerPolicy {
        allowedBaseUrls = allowedBaseUrls == null ? List.of() : List.copyOf(allowedBaseUrls);
        allowHttpHosts = lower(allowHttpHosts);
        allowPrivateHosts = lower(allowPrivateHosts);
        maxResponseBytes = maxResponseBytes == null ? 16L * 1024 * 1024 : maxResponseBytes;
    }

    private static List<String> lower(List<String> hosts) {
        return hosts == null ? List.of() : hosts.stream().map(h -> FhirServerGuard.bareHost(h).toLowerCase(Locale.ROOT)).toList();
    }

    boolean httpAllowed(String host) {
        return allowHttpHosts.contains(FhirServerGuard.bareHost(host).toLowerCase(Locale.ROOT));
    }

    boolean privateAllowed(String host) {
        return allowPrivateHosts.contains(FhirServerGuard.bareHost(host).toLowerCase(Locale.ROOT));
    }
}
