package org.allcds.cds.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.allcds.cds.services.ServiceCatalog;
import org.allcds.cds.services.ServiceDefinition;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The HTTP edge on a real embedded Tomcat with authentication on, driven by a raw socket client that
 * sends the request line exactly as written: every spelling of a protected path is refused without a
 * token, slow request bodies without a token do not hold the workers, Tomcat's own errors are JSON,
 * and responses that carry patient data are not stored by caches.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("test")
class HttpEdgeTest {

    static final String AUD = "https://cds.test/cds-services";
    static final String ISS = "https://ehr-edge.test";
    static final ECKey KEY = TestTokens.ecKey("edge-384", Curve.P_384);
    static final TestTokens.JwksServer JWKS = new TestTokens.JwksServer(0, List.of(KEY));
    static final String FEEDBACK = "{\"feedback\":[{\"card\":\"1b0c3a9e-5f2d-4c1e-9a7b-2d3e4f5a6b7c\",\"outcome\":\"overridden\","
            + "\"outcomeTimestamp\":\"2025-01-01T00:00:00Z\"}]}";
    static final Map<String, String> JSON_BODY = Map.of("Content-Type", "application/json");

    @DynamicPropertySource
    static void auth(DynamicPropertyRegistry r) {
        r.add("all-cds.auth.enabled", () -> "true");
        r.add("all-cds.auth.audience", () -> AUD);
        r.add("all-cds.auth.issuers[0].iss", () -> ISS);
        r.add("all-cds.auth.issuers[0].jwks-url", JWKS::url);
    }

    @AfterAll
    static void stop() {
        JWKS.close();
    }

    @LocalServerPort
    int port;

    @Autowired
    ServiceCatalog catalog;

    private final ObjectMapper json = new ObjectMapper();

    /** A token for the endpoint at {@code path} (CDS Hooks 2.0: its aud is that endpoint's URL). */
    private static String token(String path) {
        return TestTokens.sign(KEY, JWSAlgorithm.ES384,
                TestTokens.claims(ISS, AUD + path.substring("/cds-services".length())).build());
    }

    /** A request body that, once authenticated, makes the service answer 200 with cards. */
    private byte[] bodyWithCards(String serviceId) throws IOException {
        Fixture fixture = FixtureCatalog.load().stream()
                .filter(f -> f.service().equals(serviceId) && !f.expectedCards().isEmpty())
                .findFirst().orElseThrow(() -> new AssertionError("no fixture with cards for " + serviceId));
        return json.writeValueAsBytes(HookRequests.withPrefetch(fixture, LocalDate.now(ZoneOffset.UTC)));
    }

    private RawHttp.Reply post(String target, byte[] body, String token) throws IOException {
        Map<String, String> headers = token == null ? JSON_BODY
                : Map.of("Content-Type", "application/json", "Authorization", "Bearer " + token);
        return RawHttp.exchange(port, RawHttp.request("POST", target, headers, body));
    }

    private JsonNode assertJsonError(RawHttp.Reply reply, int... statuses) throws IOException {
        assertThat(reply.status()).as(reply.toString()).isIn(java.util.Arrays.stream(statuses).boxed().toList());
        assertThat(reply.header("Content-Type")).as(reply.toString()).startsWith("application/json");
        JsonNode body = json.readTree(reply.body());
        assertThat(body.path("error").asText()).as(reply.toString()).isNotBlank();
        assertThat(body.path("status").asInt()).isEqualTo(reply.status());
        assertThat(reply.body()).doesNotContain("cards").doesNotContain("Exception").doesNotContain("<html");
        return body;
    }

    // --- path spellings -------------------------------------------------------------------

    /** Ways to spell {@code path} that a server might route to the same handler. */
    static Set<String> spellings(String path, int port) {
        Set<String> out = new LinkedHashSet<>();
        out.add(path);
        String[] segments = path.substring(1).split("/");
        // matrix (path) parameters on each segment, and on a leading empty segment
        for (int i = 0; i < segments.length; i++) {
            for (String param : List.of(";x", ";", ";jsessionid=0")) {
                String[] s = segments.clone();
                s[i] = s[i] + param;
                out.add("/" + String.join("/", s));
            }
        }
        out.add("/;x" + path);
        // percent-encoding of each character (upper- and lower-case hex), and of whole segments
        for (int i = 0; i < path.length(); i++) {
            String hex = String.format("%%%02X", (int) path.charAt(i));
            out.add(path.substring(0, i) + hex + path.substring(i + 1));
            out.add(path.substring(0, i) + hex.toLowerCase(Locale.ROOT) + path.substring(i + 1));
        }
        for (int i = 0; i < segments.length; i++) {
            String[] s = segments.clone();
            StringBuilder encoded = new StringBuilder();
            s[i].chars().forEach(c -> encoded.append(String.format("%%%02X", c)));
            s[i] = encoded.toString();
            out.add("/" + String.join("/", s));
        }
        out.add(path.replaceFirst("/cds-services", "/%2563ds-services")); // double encoding
        // case
        out.add(path.toUpperCase(Locale.ROOT));
        out.add(path.replace("/cds-services", "/CDS-services"));
        out.add(path.replace("/cds-services", "/Cds-Services"));
        // empty segments, trailing slashes, backslashes
        for (int i = 0; i < path.length(); i++) {
            if (path.charAt(i) == '/') {
                out.add(path.substring(0, i) + "//" + path.substring(i + 1));
                out.add(path.substring(0, i) + "\\" + path.substring(i + 1));
            }
        }
        out.add(path + "/");
        out.add(path + "//");
        out.add(path + "/.");
        // dot segments, plain and encoded
        for (int i = 1; i <= segments.length; i++) {
            String before = "/" + String.join("/", List.of(segments).subList(0, i - 1));
            String after = String.join("/", List.of(segments).subList(i - 1, segments.length));
            String head = before.equals("/") ? "" : before;
            out.add(head + "/./" + after);
            out.add(head + "/x/../" + after);
            out.add(head + "/%2e/" + after);
            out.add(head + "/x/%2E%2E/" + after);
            out.add(head + "/x/.%2e/" + after);
        }
        out.add("/x/.." + path);
        // absolute-form request target
        out.add("http://localhost:" + port + path);
        out.add("http://localhost:" + port + path.replaceFirst("/cds-services", "/cds-services;x"));
        return out;
    }

    @Test
    void theBodiesUsedBelowGiveCardsWhenAuthenticated() throws IOException {
        for (ServiceDefinition service : catalog.all()) {
            RawHttp.Reply reply = post("/cds-services/" + service.id(), bodyWithCards(service.id()), token("/cds-services/" + service.id()));
            assertThat(reply.status()).as(reply.body()).isEqualTo(200);
            assertThat(json.readTree(reply.body()).path("cards").size()).as(service.id()).isPositive();
            assertThat(post("/cds-services/" + service.id() + "/feedback", FEEDBACK.getBytes(StandardCharsets.UTF_8), token("/cds-services/" + service.id() + "/feedback"))
                    .status()).isEqualTo(200);
        }
    }

    @TestFactory
    Stream<DynamicTest> everySpellingOfEveryProtectedEndpointIsRefusedWithoutAToken() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (ServiceDefinition service : catalog.all()) {
            byte[] hookBody = bodyWithCards(service.id());
            Map<String, byte[]> endpoints = Map.of(
                    "/cds-services/" + service.id(), hookBody,
                    "/cds-services/" + service.id() + "/feedback", FEEDBACK.getBytes(StandardCharsets.UTF_8));
            endpoints.forEach((path, body) -> {
                for (String target : spellings(path, port)) {
                    tests.add(DynamicTest.dynamicTest("POST " + target, () -> {
                        RawHttp.Reply reply = post(target, body, null);
                        assertThat(reply.status()).as(target).isNotEqualTo(200);
                        assertJsonError(reply, 400, 401, 404);
                    }));
                }
            });
        }
        return tests.stream();
    }

    @Test
    void discoveryStaysOpen() throws IOException {
        RawHttp.Reply reply = RawHttp.exchange(port, RawHttp.request("GET", "/cds-services", Map.of(), null));
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.body()).contains("all-disease-status");
    }

    @Test
    void nonNormalPathsAreRefusedWithJsonEvenWhereNothingIsProtected() throws IOException {
        for (String target : List.of("/actuator;x/health", "/%61ctuator/health", "/cds-services/../actuator/health",
                "//cds-services", "/cds-services;x")) {
            assertJsonError(RawHttp.exchange(port, RawHttp.request("GET", target, Map.of(), null)), 400);
        }
    }

    // --- the container's own errors are JSON; answers are not cached ------------------------

    @Test
    void oversizedHeadersAreAJsonError() throws IOException {
        RawHttp.Reply reply = RawHttp.exchange(port, RawHttp.request("GET", "/cds-services",
                Map.of("X-Padding", "a".repeat(64 * 1024)), null));
        assertJsonError(reply, 400, 431);
    }

    @Test
    void encodedSlashAndNulInThePathAreJsonErrors() throws IOException {
        for (String target : List.of("/cds-services/all-disease-status%2Ffeedback", "/cds-services%2F",
                "/cds-services%00", "/cds-services/all-disease-status%00/feedback")) {
            assertJsonError(post(target, FEEDBACK.getBytes(StandardCharsets.UTF_8), null), 400);
            assertJsonError(RawHttp.exchange(port, RawHttp.request("GET", target, Map.of(), null)), 400);
        }
    }

    @Test
    void badContentLengthIsAJsonError() throws IOException {
        for (String length : List.of("abc", "-1", "1, 2", "99999999999999999999999")) {
            byte[] request = ("POST /cds-services/all-disease-status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + length + "\r\n\r\n{}").getBytes(StandardCharsets.US_ASCII);
            assertJsonError(RawHttp.exchange(port, request), 400);
        }
        byte[] twoLengths = ("POST /cds-services/all-disease-status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}").getBytes(StandardCharsets.US_ASCII);
        assertJsonError(RawHttp.exchange(port, twoLengths), 400);
    }

    @Test
    void malformedRequestLineIsAJsonError() throws IOException {
        assertJsonError(RawHttp.exchange(port, "GET /cds services HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII)), 400);
    }

    @Test
    void theErrorPageAnswersARealStatus() throws IOException {
        for (String accept : List.of("application/json", "text/html", "*/*")) {
            RawHttp.Reply reply = RawHttp.exchange(port, RawHttp.request("GET", "/error", Map.of("Accept", accept), null));
            assertThat(json.readTree(reply.body()).path("status").asInt()).isNotEqualTo(999);
            assertJsonError(reply, 404);
        }
        assertJsonError(RawHttp.exchange(port, RawHttp.request("GET", "/no-such-page", Map.of("Accept", "text/html"), null)), 404);
    }

    /**
     * A 401 answered before the body is read closes the connection (the body is not swallowed), and says so, so
     * that a client keeping connections for its next call does not send it on a closed one.
     */
    @Test
    void anAnswerBeforeTheBodyIsReadSaysTheConnectionCloses() throws IOException {
        RawHttp.Reply unauthorized = post("/cds-services/all-disease-status", bodyWithCards("all-disease-status"), null);
        assertThat(unauthorized.status()).isEqualTo(401);
        assertThat(unauthorized.header("Connection")).isEqualToIgnoringCase("close");
    }

    @Test
    void hookAndFeedbackAnswersAreNeverStored() throws IOException {
        RawHttp.Reply hook = post("/cds-services/all-disease-status", bodyWithCards("all-disease-status"), token("/cds-services/all-disease-status"));
        assertThat(hook.status()).isEqualTo(200);
        assertThat(hook.header("Cache-Control")).isEqualTo("no-store");
        RawHttp.Reply feedback = post("/cds-services/all-disease-status/feedback", FEEDBACK.getBytes(StandardCharsets.UTF_8), token("/cds-services/all-disease-status/feedback"));
        assertThat(feedback.status()).isEqualTo(200);
        assertThat(feedback.header("Cache-Control")).isEqualTo("no-store");
        RawHttp.Reply invalid = post("/cds-services/all-disease-status", "{}".getBytes(StandardCharsets.UTF_8), token("/cds-services/all-disease-status"));
        assertThat(invalid.status()).isEqualTo(400);
        assertThat(invalid.header("Cache-Control")).isEqualTo("no-store");
        assertThat(post("/cds-services/all-disease-status", "{}".getBytes(StandardCharsets.UTF_8), null).header("Cache-Control"))
                .isEqualTo("no-store");
        assertThat(RawHttp.exchange(port, RawHttp.request("GET", "/cds-services", Map.of(), null)).header("Cache-Control"))
                .isEqualTo("no-store");
    }

    // --- slow request bodies --------------------------------------------------------------

    /**
     * 300 loopback connections without a token each declare a 10 MB body and then send one byte every
     * 2 s. Meanwhile discovery and an authenticated hook call must answer, each within 1 s: the 401 does not
     * wait for the body and no worker is left reading it. Bounded: the attack stops itself after 12 s.
     */
    @Test
    void slowBodiesWithoutATokenDoNotHoldTheWorkers() throws Exception {
        byte[] head = ("POST /cds-services/all-disease-status HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{").getBytes(StandardCharsets.US_ASCII);
        byte[] hookBody = bodyWithCards("all-disease-status");
        List<Socket> attackers = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger refusedWrites = new java.util.concurrent.atomic.AtomicInteger();
        var dripper = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        List<Long> discoveryMillis = new ArrayList<>();
        List<Long> hookMillis = new ArrayList<>();
        List<Long> hookMillisBefore = new ArrayList<>();
        for (int i = 0; i < 3; i++) { // first calls fetch the JWKS and warm up; measured without the attack
            long t0 = System.nanoTime();
            assertThat(post("/cds-services/all-disease-status", hookBody, token("/cds-services/all-disease-status")).status()).isEqualTo(200);
            hookMillisBefore.add((System.nanoTime() - t0) / 1_000_000);
        }
        long attackStart = System.nanoTime();
        try {
            for (int i = 0; i < 300; i++) {
                Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
                socket.getOutputStream().write(head);
                attackers.add(socket);
            }
            dripper.scheduleAtFixedRate(() -> {
                for (Socket socket : attackers) {
                    try {
                        OutputStream out = socket.getOutputStream();
                        out.write(' ');
                        out.flush();
                    } catch (IOException closedByTheServer) {
                        refusedWrites.incrementAndGet();
                    }
                }
            }, 0, 2, java.util.concurrent.TimeUnit.SECONDS);
            Thread.sleep(2_500); // every attacker has had its answer and dripped once
            while (System.nanoTime() - attackStart < 12_000_000_000L) {
                long t0 = System.nanoTime();
                RawHttp.Reply discovery = duringAttack(RawHttp.request("GET", "/cds-services", Map.of(), null));
                long t1 = System.nanoTime();
                RawHttp.Reply hook = duringAttack(RawHttp.request("POST", "/cds-services/all-disease-status",
                        Map.of("Content-Type", "application/json", "Authorization", "Bearer " + token("/cds-services/all-disease-status")), hookBody));
                long t2 = System.nanoTime();
                assertThat(discovery.status()).isEqualTo(200);
                assertThat(hook.status()).as(hook.body()).isEqualTo(200);
                discoveryMillis.add((t1 - t0) / 1_000_000);
                hookMillis.add((t2 - t1) / 1_000_000);
                Thread.sleep(250);
            }
        } finally {
            dripper.shutdownNow();
            for (Socket socket : attackers) {
                socket.close();
            }
        }
        System.out.printf("slow-body attack, 300 connections: authenticated hook call ms before %s, during %s; "
                + "discovery ms during %s; attacker writes refused by a closed connection: %d%n",
                hookMillisBefore, hookMillis, discoveryMillis, refusedWrites.get());
        assertThat(discoveryMillis).isNotEmpty().allMatch(ms -> ms < 1_000);
        assertThat(hookMillis).isNotEmpty().allMatch(ms -> ms < 1_000);
    }

    private RawHttp.Reply duringAttack(byte[] request) throws IOException {
        try {
            return RawHttp.exchange(port, request, 3_000);
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("no answer within 3 s during the slow-body attack: the workers are held", e);
        }
    }
}
