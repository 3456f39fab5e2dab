package org.allcds.cds.security;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code all-cds.auth}: CDS Hooks 2.0 authentication of hook and feedback calls.
 *
 * @param enabled          verify a JWT on every hook and feedback call (default true; the {@code demo} profile turns it off)
 * @param audience         the only accepted {@code aud}: this service's discovery endpoint URL, e.g. {@code https://cds.example.org/cds-services}
 * @param clockSkew        tolerance for {@code exp} and {@code iat} against this machine's clock
 * @param issuers          the EHRs allowed to call, each with its keys and FHIR servers
 * @param jwksConnectTimeout TCP connect timeout when fetching an issuer's JWKS
 * @param jwksReadTimeout  read timeout when fetching an issuer's JWKS
 * @param jwksSizeLimit    largest JWKS document accepted, in bytes
 * @param jwksCacheTtl     how long a fetched JWKS is used before it is fetched again (an unknown {@code kid} refetches sooner, rate-limited)
 * @param replayCacheSize  most {@code jti}s remembered at once; when full of unexpired entries, new tokens are refused (fail closed)
 */
@ConfigurationProperties(prefix = "all-cds.auth")
public record AuthProperties(Boolean enabled, String audience, Duration clockSkew, List<Issuer> issuers,
        Duration jwksConnectTimeout, Duration jwksReadTimeout, Integer jwksSizeLimit, Duration jwksCacheTtl,
        Integer replayCacheSize) {

    public AuthProperties {
        enabled = enabled == null || enabled;
        clockSkew = clockSkew == null ? Duration.ofSeconds(30) : clockSkew;
        issuers = issuers == null ? List.of() : List.copyOf(issuers);
        jwksConnectTimeout = jwksConnectTimeout == null ? Duration.ofSeconds(2) : jwksConnectTimeout;
        jwksReadTimeout = jwksReadTimeout == null ? Duration.ofSeconds(2) : jwksReadTimeout;
        jwksSizeLimit = jwksSizeLimit == null ? 256 * 1024 : jwksSizeLimit;
        jwksCacheTtl = jwksCacheTtl == null ? Duration.ofMinutes(5) : jwksCacheTtl;
        replayCacheSize = replayCacheSize == null ? 100_000 : replayCacheSize;
    }

    /**
     * One EHR allowed to call the service.
     *
     * @param iss         its {@code iss} claim, exactly
     * @param jwksUrl     where its public keys are (used when the token has no {@code jku}, or one not in {@code allowedJku})
     * @param allowedJku  {@code jku} header values honoured for this issuer; any other {@code jku} is ignored
     * @param fhirServers the {@code fhirServer} base URLs this issuer may send the service to
     */
    public record Issuer(String iss, String jwksUrl, List<String> allowedJku, List<String> fhirServers) {
        public Issuer {
            allowedJku = allowedJku == null ? List.of() : List.copyOf(allowedJku);
            fhirServers = fhirServers == null ? List.of() : List.copyOf(fhirServers);
        }
    }

    public Optional<Issuer> issuer(String iss) {
        return Optional.ofNullable(byIss().get(iss));
    }

    private Map<String, Issuer> byIss() {
        return issuers.stream().filter(i -> i.iss() != null)
                .collect(Collectors.toMap(Issuer::iss, Function.identity(), (a, b) -> a));
    }
}
