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
 * @param audience         this service's discovery endpoint URL as the EHR knows it, e.g. {@code https://cds.example.org/cds-services}:
 *                         the {@code aud} of each endpoint is derived from it ({@link #audienceOf})
 * @param clockSkew        tolerance for {@code exp} and {@code iat} against this machine's clock
 * @param issuers          the EHRs allowed to call, each with its keys and FHIR servers
 * @param jwksConnectTimeout TCP connect timeout when fetching an issuer's JWKS
 * @param jwksReadTimeout  read timeout when fetching an issuer's JWKS
 * @param jwksSizeLimit    largest JWKS document accepted, in bytes
 * @param jwksCacheTtl     how long a fetched JWKS is used before it is fetched again (an unknown {@code kid} refetches sooner, rate-limited)
 * @param replayCacheSize  most {@code jti}s remembered at once per issuer; when an issuer's are all unexpired, its new
 *                         tokens are refused (fail closed), other issuers' are not
 * @param maxTokenLifetime longest accepted token life: {@code exp - iat}, and {@code exp} from now (each plus {@code clockSkew})
 */
@ConfigurationProperties(prefix = "all-cds.auth")
public record AuthProperties(Boolean enabled, String audience, Duration clockSkew, List<Issuer> issuers,
        Duration jwksConnectTimeout, Duration jwksReadTimeout, Integer jwksSizeLimit, Duration jwksCacheTtl,
        Integer replayCacheSize, Duration maxTokenLifetime) {

    /** The routed path of the discovery endpoint; the other endpoints' paths are below it. */
    static final String DISCOVERY_PATH = "/cds-services";

    public AuthProperties {
        enabled = enabled == null || enabled;
        clockSkew = clockSkew == null ? Duration.ofSeconds(30) : clockSkew;
        maxTokenLifetime = maxTokenLifetime == null ? Duration.ofMinutes(5) : maxTokenLifetime;
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

    /**
     * The {@code aud} a token must hold to call the endpoint at {@code routedPath} (the path within the
     * application, e.g. {@code /cds-services/all-disease-status/feedback}): the configured discovery URL with
     * the part of the path below {@code /cds-services} appended, without a trailing slash. Null for a path
     * that is not a CDS Hooks endpoint.
     */
    public String audienceOf(String routedPath) {
        String path = stripTrailingSlashes(routedPath == null ? "" : routedPath);
        if (audience == null || !path.startsWith(DISCOVERY_PATH)
                || (path.length() > DISCOVERY_PATH.length() && path.charAt(DISCOVERY_PATH.length()) != '/')) {
            return null;
        }
        return stripTrailingSlashes(audience) + path.substring(DISCOVERY_PATH.length());
    }

    static String stripTrailingSlashes(String text) {
        int end = text.length();
        while (end > 0 && text.charAt(end - 1) == '/') {
            end--;
        }
        return text.substring(0, end);
    }

    public Optional<Issuer> issuer(String iss) {
        return Optional.ofNullable(byIss().get(iss));
    }

    private Map<String, Issuer> byIss() {
        return issuers.stream().filter(i -> i.iss() != null)
                .collect(Collectors.toMap(Issuer::iss, Function.identity(), (a, b) -> a));
    }
}
