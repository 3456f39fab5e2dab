package org.allcds.cds.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.options;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import java.io.IOException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.http.MediaType;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.MvcResult;

/**
 * CDS Hooks 2.0 authentication, whole service in-process with auth ON: JWKS served on loopback,
 * tokens signed here. Also the fhirServer guard with the verified issuer (per-issuer fhir-servers).
 */
@SpringBootTest
@AutoConfigureMockMvc
@ActiveProfiles("test")
@ExtendWith(OutputCaptureExtension.class)
class CdsHooksAuthTest {

    static final String AUD = "https://cds.test/cds-services";
    static final String ISS_A = "https://ehr-a.test";
    static final String ISS_B = "https://ehr-b.test";
    static final String SERVICE = "/cds-services/all-disease-status";
    /** CDS Hooks 2.0: the aud of a call is the URL of the endpoint called. */
    static final String SERVICE_AUD = AUD + "/all-disease-status";
    static final String FEEDBACK_AUD = SERVICE_AUD + "/feedback";
    static final String FEEDBACK = "{\"feedback\":[{\"card\":\"6f1c3c1e-9b0a-4d55-8a53-0d2b7e4f9a10\",\"outcome\":\"accepted\","
            + "\"acceptedSuggestions\":[{\"id\":\"0c4b5a0e-3f57-4b8e-9a8e-1f2d3c4b5a6d\"}],\"outcomeTimestamp\":\"2025-01-01T00:00:00Z\"}]}";

    static final ECKey EC = TestTokens.ecKey("ec-384", Curve.P_384);
    static final RSAKey RSA = TestTokens.rsaKey("rsa-2048");
    static final ECKey EC256 = TestTokens.ecKey("ec-256", Curve.P_256);
    static final ECKey JKU_KEY = TestTokens.ecKey("jku-384", Curve.P_384);
    static final ECKey ATTACKER = TestTokens.ecKey("attacker", Curve.P_384);

    static final TestTokens.JwksServer JWKS = new TestTokens.JwksServer(0, List.of(EC, RSA, EC256));
    static final TestTokens.JwksServer JKU_ALLOWED = new TestTokens.JwksServer(0, List.of(JKU_KEY));
    static final TestTokens.JwksServer JKU_ATTACKER = new TestTokens.JwksServer(0, List.of(ATTACKER));
    static final ConnectionRecorder FHIR;

    static {
        try {
            FHIR = new ConnectionRecorder();
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void auth(DynamicPropertyRegistry r) {
        r.add("all-cds.auth.enabled", () -> "true");
        r.add("all-cds.auth.audience", () -> AUD);
        r.add("all-cds.auth.clock-skew", () -> "30s");
        r.add("all-cds.auth.issuers[0].iss", () -> ISS_A);
        r.add("all-cds.auth.issuers[0].jwks-url", JWKS::url);
        r.add("all-cds.auth.issuers[0].allowed-jku[0]", JKU_ALLOWED::url);
        r.add("all-cds.auth.issuers[0].fhir-servers[0]", FHIR::baseUrl);
        r.add("all-cds.auth.issuers[1].iss", () -> ISS_B);
        r.add("all-cds.auth.issuers[1].jwks-url", JWKS::url);
        r.add("all-cds.fhir-server.allow-http-hosts[0]", () -> "127.0.0.1");
        r.add("all-cds.fhir-server.allow-private-hosts[0]", () -> "127.0.0.1");
    }

    @AfterAll
    static void stop() throws IOException {
        JWKS.close();
        JKU_ALLOWED.close();
        JKU_ATTACKER.close();
        FHIR.close();
    }

    @Autowired
    MockMvc mvc;

    private final ObjectMapper json = new ObjectMapper();

    private byte[] validBody() throws Exception {
        return json.writeValueAsBytes(HookRequests.withPrefetch(FixtureCatalog.find("late-marrow-relapse").orElseThrow(),
                LocalDate.now(ZoneOffset.UTC)));
    }

    private static JWTClaimsSet valid() {
        return TestTokens.claims(ISS_A, SERVICE_AUD).build();
    }

    private static String es384(JWTClaimsSet claims) {
        return TestTokens.sign(EC, JWSAlgorithm.ES384, claims);
    }

    private static String withAudience(Object aud) {
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder(valid());
        if (aud instanceof List<?> list) {
            claims.audience(list.stream().map(String::valueOf).toList());
        } else {
            claims.audience((String) aud);
        }
        return es384(claims.build());
    }

    private MvcResult feedback(String token) throws Exception {
        return mvc.perform(post(SERVICE + "/feedback").contentType(MediaType.APPLICATION_JSON).content(FEEDBACK)
                .header("Authorization", "Bearer " + token)).andReturn();
    }

    private MvcResult call(String token) throws Exception {
        var request = post(SERVICE).contentType(MediaType.APPLICATION_JSON).content(validBody());
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return mvc.perform(request).andReturn();
    }

    private void assertUnauthorized(MvcResult result) throws Exception {
        assertThat(result.getResponse().getStatus()).isEqualTo(401);
        assertThat(result.getResponse().getHeader("WWW-Authenticate")).startsWith("Bearer");
        assertThat(result.getResponse().getContentType()).startsWith(MediaType.APPLICATION_JSON_VALUE);
        JsonNode body = json.readTree(result.getResponse().getContentAsByteArray());
        assertThat(body.path("error").asText()).isEqualTo("unauthorized");
        assertThat(body.path("status").asInt()).isEqualTo(401);
        // general terms only: never which claim, key or issuer failed
        assertThat(body.path("message").asText()).doesNotContainIgnoringCase("kid").doesNotContain("https://")
                .doesNotContainIgnoringCase("signature").doesNotContainIgnoringCase("audience");
        assertThat(body.size()).isEqualTo(3);
    }

    // --- open endpoints -------------------------------------------------------------------

    @Test
    void discoveryStaysOpen() throws Exception {
        MvcResult r = mvc.perform(get("/cds-services")).andReturn();
        assertThat(r.getResponse().getStatus()).isEqualTo(200);
        assertThat(r.getResponse().getContentAsString()).contains("all-disease-status");
    }

    @Test
    void corsPreflightNeedsNoToken() throws Exception {
        MvcResult r = mvc.perform(options(SERVICE)
                        .header("Origin", "https://sandbox.cds-hooks.org")
                        .header("Access-Control-Request-Method", "POST")
                        .header("Access-Control-Request-Headers", "authorization,content-type"))
                .andReturn();
        assertThat(r.getResponse().getStatus()).isEqualTo(200);
        assertThat(r.getResponse().getHeader("Access-Control-Allow-Origin")).isNotNull();
        assertThat(r.getResponse().getHeader("Access-Control-Allow-Headers")).containsIgnoringCase("authorization");
    }

    // --- accepted tokens ------------------------------------------------------------------

    @Test
    void es384TokenIsAccepted() throws Exception {
        MvcResult r = call(TestTokens.sign(EC, JWSAlgorithm.ES384, valid()));
        assertThat(r.getResponse().getStatus()).as(r.getResponse().getContentAsString()).isEqualTo(200);
        assertThat(r.getResponse().getContentAsString()).contains("tx-relapse-review");
    }

    @Test
    void rs384TokenIsAccepted() throws Exception {
        assertThat(call(TestTokens.sign(RSA, JWSAlgorithm.RS384, valid())).getResponse().getStatus()).isEqualTo(200);
    }

    @Test
    void tokenWithinClockSkewIsAccepted() throws Exception {
        Instant now = Instant.now();
        JWTClaimsSet claims = new JWTClaimsSet.Builder(valid()).issueTime(Date.from(now.plusSeconds(10)))
                .expirationTime(Date.from(now.minusSeconds(10))).build();
        assertThat(call(TestTokens.sign(EC, JWSAlgorithm.ES384, claims)).getResponse().getStatus()).isEqualTo(200);
    }

    @Test
    void allowlistedJkuIsHonoured() throws Exception {
        int before = JKU_ALLOWED.hits();
        String token = TestTokens.sign(JKU_KEY, JWSAlgorithm.ES384, valid(), h -> h.jwkURL(JKU_ALLOWED.uri()));
        assertThat(call(token).getResponse().getStatus()).isEqualTo(200);
        assertThat(JKU_ALLOWED.hits()).as("the allowlisted jku was fetched").isPositive();
    }

    @Test
    void feedbackWithTokenIsAccepted() throws Exception {
        MvcResult r = feedback(es384(TestTokens.claims(ISS_A, FEEDBACK_AUD).build()));
        assertThat(r.getResponse().getStatus()).as(r.getResponse().getContentAsString()).isEqualTo(200);
    }

    /** As the CDS Hooks Sandbox signs: ES384, aud the endpoint's URL, a jku header this service does not allowlist. */
    @Test
    void sandboxStyleTokenIsAccepted() throws Exception {
        String token = TestTokens.sign(EC, JWSAlgorithm.ES384, TestTokens.claims(ISS_A, SERVICE_AUD).build(),
                h -> h.jwkURL(java.net.URI.create("https://sandbox.cds-hooks.org/.well-known/jwks.json")));
        MvcResult r = call(token);
        assertThat(r.getResponse().getStatus()).as(r.getResponse().getContentAsString()).isEqualTo(200);
    }

    @Test
    void audienceInAnArrayOrWithATrailingSlashIsAccepted() throws Exception {
        assertThat(call(withAudience(List.of("https://other.test/cds-services/x", SERVICE_AUD))).getResponse().getStatus())
                .isEqualTo(200);
        assertThat(call(withAudience(SERVICE_AUD + "/")).getResponse().getStatus()).isEqualTo(200);
        assertThat(feedback(es384(TestTokens.claims(ISS_A, FEEDBACK_AUD + "/").build())).getResponse().getStatus()).isEqualTo(200);
    }

    @Test
    void tokenForAnotherEndpointOfTheServiceIs401() throws Exception {
        assertUnauthorized(call(withAudience(AUD))); // discovery's
        assertUnauthorized(call(withAudience(AUD + "/all-order-followup")));
        assertUnauthorized(call(withAudience(FEEDBACK_AUD)));
        assertUnauthorized(feedback(es384(TestTokens.claims(ISS_A, SERVICE_AUD).build())));
        assertUnauthorized(feedback(es384(TestTokens.claims(ISS_A, AUD).build())));
    }

    @Test
    void tokenLivingLongerThanTheCapIs401() throws Exception {
        Instant now = Instant.now();
        assertUnauthorized(call(es384(new JWTClaimsSet.Builder(valid())
                .expirationTime(Date.from(now.plus(java.time.Duration.ofDays(36_500)))).build()))); // a century
        assertUnauthorized(call(es384(new JWTClaimsSet.Builder(valid()) // issued long ago, expiring soon
                .issueTime(Date.from(now.minusSeconds(1200))).expirationTime(Date.from(now.plusSeconds(60))).build())));
        assertUnauthorized(call(es384(new JWTClaimsSet.Builder(valid()) // 5 min cap + 30 s skew exceeded
                .expirationTime(Date.from(now.plusSeconds(400))).build())));
    }

    // --- refused tokens -------------------------------------------------------------------

    @Test
    void missingTokenIs401OnHookAndFeedback() throws Exception {
        assertUnauthorized(call(null));
        assertUnauthorized(mvc.perform(post(SERVICE + "/feedback").contentType(MediaType.APPLICATION_JSON)
                .content("{\"feedback\":[]}")).andReturn());
        assertUnauthorized(mvc.perform(post(SERVICE).contentType(MediaType.APPLICATION_JSON).content(validBody())
                .header("Authorization", "Basic dXNlcjpwYXNz")).andReturn());
        assertUnauthorized(mvc.perform(post(SERVICE).contentType(MediaType.APPLICATION_JSON).content(validBody())
                .header("Authorization", "Bearer ")).andReturn());
    }

    @Test
    void unknownServiceWithoutTokenIs401NotAnOracle() throws Exception {
        assertUnauthorized(mvc.perform(post("/cds-services/no-such-service").contentType(MediaType.APPLICATION_JSON)
                .content("{}")).andReturn());
    }

    @Test
    void garbageTokenIs401() throws Exception {
        assertUnauthorized(call("not.a.jwt"));
        assertUnauthorized(call("eyJ"));
    }

    @Test
    void algNoneIs401() throws Exception {
        assertUnauthorized(call(TestTokens.unsigned(valid())));
    }

    @Test
    void hmacIs401EvenWithThePublicKeyAsSecret() throws Exception {
        byte[] secret = new byte[48];
        new java.security.SecureRandom().nextBytes(secret);
        assertUnauthorized(call(TestTokens.signHmac(secret, JWSAlgorithm.HS384, valid())));
        // key confusion: HS256 keyed with the issuer's public key bytes
        byte[] publicBytes = RSA.toPublicJWK().toRSAPublicKey().getEncoded();
        assertUnauthorized(call(TestTokens.signHmac(publicBytes, JWSAlgorithm.HS256, valid())));
    }

    @Test
    void otherAlgorithmsAre401EvenWithAKnownKey() throws Exception {
        assertUnauthorized(call(TestTokens.sign(EC256, JWSAlgorithm.ES256, valid())));
        assertUnauthorized(call(TestTokens.sign(RSA, JWSAlgorithm.RS256, valid())));
        assertUnauthorized(call(TestTokens.sign(RSA, JWSAlgorithm.PS384, valid())));
    }

    @Test
    void signatureByAnUnknownKeyIs401() throws Exception {
        ECKey impostor = TestTokens.ecKey("ec-384", Curve.P_384); // same kid, other key
        assertUnauthorized(call(TestTokens.sign(impostor, JWSAlgorithm.ES384, valid())));
    }

    @Test
    void tamperedPayloadIs401() throws Exception {
        String token = TestTokens.sign(EC, JWSAlgorithm.ES384, valid());
        String[] parts = token.split("\\.");
        String otherPayload = com.nimbusds.jose.util.Base64URL.encode(
                TestTokens.claims(ISS_B, AUD).build().toString()).toString();
        assertUnauthorized(call(parts[0] + "." + otherPayload + "." + parts[2]));
    }

    @Test
    void jkuOutsideTheAllowlistIsIgnored() throws Exception {
        int before = JKU_ATTACKER.hits();
        String token = TestTokens.sign(ATTACKER, JWSAlgorithm.ES384, valid(), h -> h.jwkURL(JKU_ATTACKER.uri()));
        assertUnauthorized(call(token));
        assertThat(JKU_ATTACKER.hits()).as("the attacker's jku was never fetched").isEqualTo(before);
        // a jku not in the allowlist falls back to the configured jwks-url: a genuine key still verifies
        String genuine = TestTokens.sign(EC, JWSAlgorithm.ES384, valid(), h -> h.jwkURL(JKU_ATTACKER.uri()));
        assertThat(call(genuine).getResponse().getStatus()).isEqualTo(200);
        assertThat(JKU_ATTACKER.hits()).isEqualTo(before);
    }

    @Test
    void unknownIssuerIs401() throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder(valid()).issuer("https://evil.test").build();
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384, claims)));
        JWTClaimsSet none = new JWTClaimsSet.Builder(valid()).issuer(null).build();
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384, none)));
    }

    @Test
    void wrongOrMissingAudienceIs401() throws Exception { // (AUD + "/" is discovery's, not this endpoint's)
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384,
                new JWTClaimsSet.Builder(valid()).audience("https://other.test/cds-services").build())));
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384,
                new JWTClaimsSet.Builder(valid()).audience(AUD + "/").build())));
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384,
                new JWTClaimsSet.Builder(valid()).audience((String) null).build())));
    }

    @Test
    void expiredOrMissingExpIs401() throws Exception {
        Instant now = Instant.now();
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384, new JWTClaimsSet.Builder(valid())
                .issueTime(Date.from(now.minusSeconds(600))).expirationTime(Date.from(now.minusSeconds(60))).build())));
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384,
                new JWTClaimsSet.Builder(valid()).expirationTime(null).build())));
    }

    @Test
    void iatInTheFutureOrMissingIs401() throws Exception {
        Instant now = Instant.now();
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384, new JWTClaimsSet.Builder(valid())
                .issueTime(Date.from(now.plusSeconds(120))).expirationTime(Date.from(now.plusSeconds(400))).build())));
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384,
                new JWTClaimsSet.Builder(valid()).issueTime(null).build())));
    }

    @Test
    void missingJtiIs401() throws Exception {
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384, new JWTClaimsSet.Builder(valid()).jwtID(null).build())));
        assertUnauthorized(call(TestTokens.sign(EC, JWSAlgorithm.ES384, new JWTClaimsSet.Builder(valid()).jwtID("").build())));
    }

    @Test
    void replayedJtiIs401() throws Exception {
        String token = TestTokens.sign(EC, JWSAlgorithm.ES384, valid());
        assertThat(call(token).getResponse().getStatus()).isEqualTo(200);
        assertUnauthorized(call(token));
        // the same jti re-signed in a new token is a replay too
        JWTClaimsSet again = TestTokens.claims(ISS_A, SERVICE_AUD).jwtID(com.nimbusds.jwt.SignedJWT.parse(token).getJWTClaimsSet().getJWTID()).build();
        assertUnauthorized(call(TestTokens.sign(RSA, JWSAlgorithm.RS384, again)));
    }

    // --- fhirServer guard with the verified issuer ----------------------------------------

    private ObjectNode noPrefetch(String fhirServer, String accessToken) {
        return HookRequests.withFhirServer(FixtureCatalog.find("late-marrow-relapse").orElseThrow(),
                LocalDate.now(ZoneOffset.UTC), fhirServer, accessToken);
    }

    @Test
    void fhirServerOfAnotherIssuerIsRefusedWithoutConnecting(CapturedOutput output) throws Exception {
        int before = FHIR.connections();
        String fhirToken = "secret-fhir-token-" + java.util.UUID.randomUUID();
        MvcResult r = mvc.perform(post(SERVICE).contentType(MediaType.APPLICATION_JSON)
                .content(json.writeValueAsBytes(noPrefetch(FHIR.baseUrl(), fhirToken)))
                .header("Authorization", "Bearer " + TestTokens.sign(EC, JWSAlgorithm.ES384, TestTokens.claims(ISS_B, SERVICE_AUD).build())))
                .andReturn();
        assertThat(r.getResponse().getStatus()).isEqualTo(400);
        assertThat(json.readTree(r.getResponse().getContentAsByteArray()).path("error").asText()).isEqualTo("fhir-server-not-allowed");
        assertThat(FHIR.connections()).as("no connection attempted").isEqualTo(before);
        assertThat(output.getAll()).doesNotContain(fhirToken);
    }

    @Test
    void fhirServerOfTheCallingIssuerIsUsedAndGetsTheTokenWhichIsNeverLogged(CapturedOutput output) throws Exception {
        int before = FHIR.connections();
        String fhirToken = "secret-fhir-token-" + java.util.UUID.randomUUID();
        MvcResult r = mvc.perform(post(SERVICE).contentType(MediaType.APPLICATION_JSON)
                .content(json.writeValueAsBytes(noPrefetch(FHIR.baseUrl(), fhirToken)))
                .header("Authorization", "Bearer " + TestTokens.sign(EC, JWSAlgorithm.ES384, valid())))
                .andReturn();
        // the recorder answers 404: the service reports the FHIR server's failure, never a card
        assertThat(r.getResponse().getStatus()).isEqualTo(502);
        assertThat(FHIR.connections()).isGreaterThan(before);
        assertThat(FHIR.requestHeads()).anyMatch(h -> h.contains("Authorization: Bearer " + fhirToken));
        assertThat(r.getResponse().getContentAsString()).doesNotContain(fhirToken);
        assertThat(output.getAll()).doesNotContain(fhirToken);
    }

    @Test
    void unauthenticatedCallsNeverReachTheFhirServer() throws Exception {
        int before = FHIR.connections();
        MvcResult r = mvc.perform(post(SERVICE).contentType(MediaType.APPLICATION_JSON)
                .content(json.writeValueAsBytes(noPrefetch(FHIR.baseUrl(), "t")))).andReturn();
        assertUnauthorized(r);
        assertThat(FHIR.connections()).isEqualTo(before);
    }

    /** The reason for a 401 is logged, with what the caller put in the token escaped: no forged log lines. */
    @Test
    void rejectionReasonsAreLoggedOnOneLine(CapturedOutput output) throws Exception {
        assertUnauthorized(call(withAudience("https://x.test\nERROR forged-line\r\u2028")));
        // an encoded line break in the path never reaches the log: such a path is not in normal form, refused first
        assertThat(mvc.perform(post(java.net.URI.create("/cds-services/x%0AERROR%20forged-line%E2%80%A8"))
                .contentType(MediaType.APPLICATION_JSON).content("{}").header("Authorization", "Bearer " + es384(valid())))
                .andReturn().getResponse().getStatus()).isEqualTo(400);
        assertThat(output.getAll()).contains("401 on").doesNotContain("\nERROR forged-line").doesNotContain("\u2028");
    }

    @Test
    void genericMessagesOnly() throws Exception {
        Set<String> messages = new java.util.HashSet<>();
        for (String token : List.of("x", TestTokens.unsigned(valid()),
                TestTokens.sign(EC, JWSAlgorithm.ES384, new JWTClaimsSet.Builder(valid()).audience("a").build()),
                TestTokens.sign(EC, JWSAlgorithm.ES384, new JWTClaimsSet.Builder(valid()).issuer("b").build()))) {
            messages.add(json.readTree(call(token).getResponse().getContentAsByteArray()).path("message").asText());
        }
        assertThat(messages).hasSize(1);
    }
}
