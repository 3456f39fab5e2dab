package org.allcds.cds.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Verifies a CDS Hooks 2.0 caller JWT with nimbus-jose-jwt: signature (ES384 or RS384 only) against the
 * issuer's JWKS, {@code iss} in the allowlist, {@code aud} the URL of the endpoint called (a string or an array
 * holding it; a trailing slash aside), {@code exp} required and not past, {@code iat} required and not in the
 * future, the token's life no longer than {@code max-token-lifetime}, {@code jti} required and not replayed
 * (per issuer). All within {@code clock-skew}.
 *
 * <p>The JWKS URL: the token's {@code jku} only if it is in that issuer's {@code allowed-jku}; otherwise
 * the issuer's configured {@code jwks-url}. So the set of URLs fetched is fixed by configuration, never
 * chosen by an unauthenticated caller. Each JWKS is fetched with timeouts and a size limit, and cached
 * ({@code jwks-cache-ttl}; an unknown {@code kid} refetches, rate-limited).
 */
public class JwtVerifier {

    /** CDS Hooks 2.0: ES384 and RS384; nothing else (no {@code none}, no HMAC, no other curves or sizes). */
    static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.ES384, JWSAlgorithm.RS384);

    private final AuthProperties auth;
    private final Clock clock;
    private final ReplayCache replays;
    private final SharedReplayStore sharedReplays;
    private final Map<String, JWKSource<SecurityContext>> jwksByUrl = new ConcurrentHashMap<>();

    public JwtVerifier(AuthProperties auth, Clock clock) {
        this(auth, clock, null);
    }

    /** @param sharedReplays the jtis every replica has seen (the ledger's database), or null: this replica's only */
    public JwtVerifier(AuthProperties auth, Clock clock, SharedReplayStore sharedReplays) {
        this.auth = auth;
        this.clock = clock;
        this.replays = new ReplayCache(auth.replayCacheSize(), clock);
        this.sharedReplays = sharedReplays;
    }

    /**
     * The verified caller; {@link Rejected} (its message for the log only) when anything is wrong.
     *
     * @param routedPath the path of the endpoint called within the application, as routed (servlet path and
     *     path info, not the raw request URI): the token's {@code aud} must be that endpoint's URL
     */
    public VerifiedCaller verify(String token, String routedPath) throws Rejected {
        String endpoint = auth.audienceOf(routedPath);
        if (endpoint == null) {
            throw new Rejected("not a CDS Hooks endpoint");
        }
        SignedJWT jwt;
        JWTClaimsSet unverified;
        try {
            JWT parsed = JWTParser.parse(token);
            if (!(parsed instanceof SignedJWT signed)) {
                throw new Rejected("token is not a signed JWS (alg none or JWE)");
            }
            jwt = signed;
            unverified = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new Rejected("token is not a JWT");
        }
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        if (!ALGORITHMS.contains(alg)) {
            throw new Rejected("algorithm " + alg + " not accepted");
        }
        String iss = unverified.getIssuer();
        AuthProperties.Issuer issuer = iss == null ? null : auth.issuer(iss).orElse(null);
        if (issuer == null) {
            throw new Rejected("issuer not in the allowlist");
        }

        DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
        processor.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, jwks(jwksUrl(issuer, jwt.getHeader().getJWKURL()))));
        DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
                Set.of(endpoint, endpoint + "/"),
                new JWTClaimsSet.Builder().issuer(issuer.iss()).build(),
                Set.of("iss", "aud", "exp", "iat", "jti"),
                Set.of());
        claims.setMaxClockSkew((int) auth.clockSkew().toSeconds());
        processor.setJWTClaimsSetVerifier(claims);
        JWTClaimsSet verified;
        try {
            verified = processor.process(jwt, null);
        } catch (BadJOSEException e) {
            throw new Rejected("token rejected: " + e.getMessage());
        } catch (JOSEException e) {
            throw new Rejected("token could not be verified: " + e.getMessage());
        }

        Instant now = clock.instant();
        Instant iat = verified.getIssueTime().toInstant();
        Instant exp = verified.getExpirationTime().toInstant();
        if (iat.isAfter(now.plus(auth.clockSkew()))) {
            throw new Rejected("iat is in the future");
        }
        // A long-lived token is a stolen token's long life, and its jti would be kept as long
        Duration longest = auth.maxTokenLifetime().plus(auth.clockSkew());
        if (Duration.between(iat, exp).compareTo(longest) > 0 || exp.isAfter(now.plus(longest))) {
            throw new Rejected("token lifetime beyond max-token-lifetime");
        }
        String jti = verified.getJWTID();
        if (jti == null || jti.isBlank()) {
            throw new Rejected("jti missing");
        }
        Instant keepUntil = exp.plus(auth.clockSkew());
        switch (replays.record(issuer.iss(), jti, keepUntil)) {
            case REPLAYED -> throw new Rejected("jti replayed");
            case FULL -> throw new Rejected("replay cache full of this issuer's unexpired tokens");
            default -> { }
        }
        if (sharedReplays != null && !sharedReplays.firstUse(issuer.iss(), jti, keepUntil)) {
            throw new Rejected("jti replayed (first presented to another replica)");
        }
        return new VerifiedCaller(issuer.iss(), verified.getSubject(), jti);
    }

    private String jwksUrl(AuthProperties.Issuer issuer, URI jku) {
        if (jku != null && issuer.allowedJku().contains(jku.toString())) {
            return jku.toString();
        }
        return issuer.jwksUrl();
    }

    private JWKSource<SecurityContext> jwks(String url) throws Rejected {
        if (url == null || url.isBlank()) {
            throw new Rejected("issuer has no jwks-url");
        }
        // Keys of this map come from configuration only (jwks-url and allowed-jku), so it stays small.
        try {
            URL parsed = URI.create(url).toURL();
            return jwksByUrl.computeIfAbsent(url, u -> JWKSourceBuilder.<SecurityContext>create(parsed, new DefaultResourceRetriever(
                            (int) auth.jwksConnectTimeout().toMillis(), (int) auth.jwksReadTimeout().toMillis(), auth.jwksSizeLimit()))
                    .cache(auth.jwksCacheTtl().toMillis(), auth.jwksReadTimeout().toMillis() + auth.jwksConnectTimeout().toMillis())
                    .retrying(false)
                    .build());
        } catch (IllegalArgumentException | MalformedURLException e) {
            throw new Rejected("jwks-url is not a URL");
        }
    }

    /** The authenticated caller of one request. */
    public record VerifiedCaller(String issuer, String subject, String jti) {}

    /** Authentication failed; the message names the reason for the service's log, never for the caller. */
    public static final class Rejected extends Exception {
        public Rejected(String reason) {
            super(reason, null, false, false);
        }
    }
}
