package org.allcds.cds.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.allcds.fixtures.CardMatcher;
import org.allcds.fixtures.FhirServerLoader;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.allcds.fixtures.LongTreatedPatient;
import org.allcds.testfhir.containers.CdsServiceContainer;
import org.allcds.testfhir.containers.TestFhirServerContainer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestMethodOrder;
import org.testcontainers.containers.Network;

/**
 * End-to-end, in containers: the CDS service image (cds-service/Dockerfile over this build's jar) and the test
 * FHIR server image (HAPI JPA, H2), on one Docker network, started once for the class and in parallel.
 *
 * <p>Every fixture bundle is loaded into the FHIR server as a transaction (dates materialized at today's UTC
 * date); each fixture is then sent to the service twice, with the full prefetch and with no prefetch but
 * {@code fhirServer=http://fhir:8080/fhir}, and both answers must be exactly the fixture's expected cards and the
 * same as each other. Then the error paths: no prefetch and no fhirServer (412), a FHIR server that hangs
 * (paused container: 504 within the read timeout) and a FHIR server that is gone (stopped container: 5xx).
 *
 * <p>The order matters: the outage tests run last because they pause and then stop the shared FHIR server.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CdsServiceEndToEndIT {

    /** Service-side FHIR read timeout; the outage tests bound the response time by it. */
    static final Duration READ_TIMEOUT = Duration.ofSeconds(3);
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /** Largest acceptable time for an error answer when the FHIR server is down: timeouts plus a margin. */
    static final Duration OUTAGE_BOUND = Duration.ofSeconds(15);

    static final String ACCESS_TOKEN = "it-opaque-token"; // the test FHIR server ignores it
    static final LocalDate TODAY = LocalDate.now(ZoneOffset.UTC);
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    static Network network;
    static TestFhirServerContainer fhir;
    static CdsServiceContainer cds;
    static List<Fixture> fixtures;

    @BeforeAll
    static void startContainersAndLoadFixtures() throws Exception {
        fixtures = FixtureCatalog.load();
        assertThat(fixtures).as("fixtures on the test class path").hasSizeGreaterThanOrEqualTo(17);

        network = Network.newNetwork();
        fhir = new TestFhirServerContainer().withNetwork(network);
        String internalFhir = fhir.internalFhirBaseUrl();
        cds = new CdsServiceContainer().withNetwork(network)
                // C1 only and the serial GC: a faster start on a small machine (throughput is not measured here)
                .withEnv("JAVA_OPTS", "-XX:MaxRAMPercentage=75 -XX:+UseSerialGC -XX:TieredStopAtLevel=1")
                .withCommand(
                        "--spring.profiles.active=demo",
                        // the SSRF guard allows exactly the internal FHIR base: private address, plain http
                        "--all-cds.fhir-server.allowed-base-urls=" + internalFhir,
                        "--all-cds.fhir-server.allow-http-hosts=" + TestFhirServerContainer.NETWORK_ALIAS,
                        "--all-cds.fhir-server.allow-private-hosts=" + TestFhirServerContainer.NETWORK_ALIAS,
                        "--all-cds.fhir-server.connect-timeout=" + CONNECT_TIMEOUT.toSeconds() + "s",
                        "--all-cds.fhir-server.read-timeout=" + READ_TIMEOUT.toSeconds() + "s",
                        "--all-cds.warmup.rounds=5");

        // The service needs no FHIR server to start: start both at once, load the fixtures as soon as the
        // FHIR server is up while the service may still be warming up.
        long t0 = System.nanoTime();
        CompletableFuture<Void> cdsUp = CompletableFuture.runAsync(() -> {
            cds.start();
            log("cds-service container ready in %d ms at %s", ms(t0), cds.baseUrl());
        });
        try {
            fhir.start();
            log("test FHIR server container ready in %d ms at %s", ms(t0), fhir.fhirBaseUrl());
            long t1 = System.nanoTime();
            int loaded = new FhirServerLoader(HTTP, URI.create(fhir.fhirBaseUrl())).loadAll(fixtures, TODAY);
            log("loaded %d fixture transactions (dates at %s) in %d ms", loaded, TODAY, ms(t1));
        } finally {
            cdsUp.join();
        }
        log("both containers up and fixtures loaded in %d ms", ms(t0));
    }

    @AfterAll
    static void stopContainers() {
        if (cds != null) {
            cds.stop();
        }
        if (fhir != null) {
            unpauseQuietly();
            fhir.stop();
        }
        if (network != null) {
            network.close();
        }
    }

    @Test
    @Order(1)
    void discoveryListsTheFixturesServices() throws Exception {
        Answer answer = send("GET", "/cds-services", null);
        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        answer.json().path("services").forEach(s -> ids.add(s.path("id").asText()));
        assertThat(ids).containsAll(fixtures.stream().map(Fixture::service).distinct().toList());
    }

    @Test
    @Order(2)
    void noPrefetchAndNoFhirServerIs412WithoutCards() throws Exception {
        Fixture f = fixtures.get(0);
        JsonNode request = HookRequests.withFhirServer(f, TODAY, fhir.internalFhirBaseUrl(), ACCESS_TOKEN)
                .without(List.of("fhirServer", "fhirAuthorization"));
        Answer answer = post(f.service(), request);
        assertThat(answer.status()).as(answer.body()).isEqualTo(412);
        assertThat(answer.contentType()).startsWith("application/json");
        assertThat(answer.json().path("error").asText()).isEqualTo("prefetch-missing");
        assertThat(answer.json().has("cards")).as("no cards in an error").isFalse();
    }

    /** Per fixture: the prefetch answer, the fhirServer answer, and the two compared. */
    @TestFactory
    @Order(3)
    Stream<DynamicNode> everyFixtureGivesItsCardsWithPrefetchAndFromTheFhirServer() {
        return fixtures.stream().map(f -> {
            Answer[] answers = new Answer[2];
            return DynamicContainer.dynamicContainer(f.scenario(), Stream.of(
                    DynamicTest.dynamicTest("prefetch", () -> {
                        answers[0] = post(f.service(), HookRequests.withPrefetch(f, TODAY));
                        assertExpectedCards(f, answers[0], "prefetch");
                    }),
                    DynamicTest.dynamicTest("fhirServer", () -> {
                        answers[1] = post(f.service(),
                                HookRequests.withFhirServer(f, TODAY, fhir.internalFhirBaseUrl(), ACCESS_TOKEN));
                        assertExpectedCards(f, answers[1], "fhirServer");
                    }),
                    DynamicTest.dynamicTest("same cards both ways", () -> {
                        Answer prefetch = answers[0] != null ? answers[0] : post(f.service(), HookRequests.withPrefetch(f, TODAY));
                        Answer server = answers[1] != null ? answers[1] : post(f.service(),
                                HookRequests.withFhirServer(f, TODAY, fhir.internalFhirBaseUrl(), ACCESS_TOKEN));
                        assertThat(List.of(prefetch.status(), server.status()))
                                .as("%s: HTTP status [prefetch, fhirServer]", f.scenario()).containsOnly(200);
                        assertThat(cardSummary(server.json()))
                                .as("%s: fhirServer cards vs prefetch cards", f.scenario())
                                .isEqualTo(cardSummary(prefetch.json()));
                    })));
        });
    }

    /** Resources of the long-treated patient loaded into the FHIR server (the bar: 3,000). */
    static final int LONG_TREATED_RESOURCES = 3_000;
    /** Its own patient, so that the fixture patient it is generated from keeps its own record. */
    static final String LONG_TREATED_ID = "fx-long-treated";

    /**
     * A long-treated patient (years of blood counts, marrows and lumbar punctures: 3,000 resources, many pages of
     * the FHIR server's searches) gives the same cards by prefetch and from the FHIR server, and the cards of the
     * relapse it was generated for.
     */
    @Test
    @Order(4)
    void aLongTreatedPatientGivesTheSameCardsByPrefetchAndFromTheFhirServer() throws Exception {
        Fixture f = LongTreatedPatient.fixture();
        ObjectNode prefetch = (ObjectNode) asLongTreatedPatient(LongTreatedPatient.request(LONG_TREATED_RESOURCES, TODAY));
        ObjectNode transaction = JSON.createObjectNode().put("resourceType", "Bundle").put("type", "transaction");
        ArrayNode entries = transaction.putArray("entry");
        List<JsonNode> resources = new ArrayList<>();
        resources.add(prefetch.path("prefetch").path("patient"));
        for (String key : List.of("conditions", "observations", "procedures")) {
            prefetch.path("prefetch").path(key).path("entry").forEach(e -> resources.add(e.path("resource")));
        }
        assertThat(resources).hasSize(LONG_TREATED_RESOURCES);
        for (JsonNode r : resources) {
            String reference = r.path("resourceType").asText() + "/" + r.path("id").asText();
            ObjectNode entry = entries.addObject();
            entry.set("resource", r);
            entry.putObject("request").put("method", "PUT").put("url", reference);
        }
        long t0 = System.nanoTime();
        Answer loaded = sendTo(fhir.fhirBaseUrl(), "POST", "", JSON.writeValueAsString(transaction), "application/fhir+json");
        assertThat(loaded.status()).as(loaded.body()).isBetween(200, 299);
        log("loaded the long-treated patient (%d resources) in %d ms", LONG_TREATED_RESOURCES, ms(t0));

        Answer byPrefetch = post(f.service(), prefetch);
        assertExpectedCards(f, byPrefetch, "long-treated, prefetch");
        ObjectNode fromServer = HookRequests.withFhirServer(f, TODAY, fhir.internalFhirBaseUrl(), ACCESS_TOKEN);
        fromServer.set("context", prefetch.path("context"));
        long t1 = System.nanoTime();
        Answer byServer = post(f.service(), fromServer);
        log("long-treated patient from the FHIR server: HTTP %d in %d ms", byServer.status(), ms(t1));
        assertExpectedCards(f, byServer, "long-treated, fhirServer");
        assertThat(cardSummary(byServer.json())).as("long-treated: fhirServer cards vs prefetch cards")
                .isEqualTo(cardSummary(byPrefetch.json()));
    }

    /** The generated record under its own patient id (every id and reference of the fixture patient renamed). */
    private static JsonNode asLongTreatedPatient(JsonNode request) throws IOException {
        String fixturePatient = LongTreatedPatient.fixture().patientId();
        return JSON.readTree(JSON.writeValueAsString(request).replace(fixturePatient, LONG_TREATED_ID)
                .replace("\"bench-", "\"" + LONG_TREATED_ID + "-bench-").replace("/bench-", "/" + LONG_TREATED_ID + "-bench-"));
    }

    /** A FHIR server that accepts connections but never answers (paused container): 504 within the read timeout. */
    @Test
    @Order(5)
    void hangingFhirServerIsA504WithinTheTimeout() throws Exception {
        Fixture f = fixtures.get(0);
        fhir.getDockerClient().pauseContainerCmd(fhir.getContainerId()).exec();
        try {
            long t0 = System.nanoTime();
            Answer answer = post(f.service(), HookRequests.withFhirServer(f, TODAY, fhir.internalFhirBaseUrl(), ACCESS_TOKEN));
            long elapsed = ms(t0);
            log("paused FHIR server: HTTP %d after %d ms: %s", answer.status(), elapsed, answer.body());
            assertOutageError(answer, elapsed);
            assertThat(answer.status()).isEqualTo(504);
            assertThat(elapsed).as("elapsed ms, read timeout %s", READ_TIMEOUT).isGreaterThanOrEqualTo(READ_TIMEOUT.toMillis() - 100);
        } finally {
            fhir.getDockerClient().unpauseContainerCmd(fhir.getContainerId()).exec();
        }
    }

    /**
     * The FHIR server is gone (container stopped mid-run): a clear 5xx JSON error, no cards, fast.
     *
     * <p>Runs right after the pause test, so the service JVM still holds its cached DNS answer for {@code fhir}
     * (positive lookups are cached 30 s): the connection to the vanished address times out (504). Once that entry
     * expires, Docker's DNS no longer knows {@code fhir} and the SSRF guard refuses the unresolvable host first.
     */
    @Test
    @Order(6)
    void stoppedFhirServerIsA5xxWithinTheTimeout() throws Exception {
        Fixture f = fixtures.get(0);
        fhir.stop();
        long t0 = System.nanoTime();
        Answer answer = post(f.service(), HookRequests.withFhirServer(f, TODAY, fhir.internalFhirBaseUrl(), ACCESS_TOKEN));
        long elapsed = ms(t0);
        log("stopped FHIR server: HTTP %d after %d ms: %s", answer.status(), elapsed, answer.body());
        assertOutageError(answer, elapsed);
        // a prefetch request still works: the outage only affects requests that need the FHIR server
        Answer prefetch = post(f.service(), HookRequests.withPrefetch(f, TODAY));
        assertExpectedCards(f, prefetch, "prefetch, FHIR server stopped");
    }

    // ---------------------------------------------------------------------------------------------------------

    private static void assertExpectedCards(Fixture f, Answer answer, String path) {
        assertThat(answer.status()).as("%s [%s]: HTTP status, body %s", f.scenario(), path, answer.body()).isEqualTo(200);
        assertThat(CardMatcher.mismatches(f.expectedCards(), answer.json()))
                .as("%s [%s]: mismatches; got cards %s, expected %s", f.scenario(), path,
                        CardMatcher.actualLabels(answer.json()),
                        f.expectedCards().stream().map(c -> c.label()).toList())
                .isEmpty();
    }

    private static void assertOutageError(Answer answer, long elapsedMs) {
        assertThat(answer.status()).as("status, body %s", answer.body()).isIn(502, 504);
        assertThat(answer.contentType()).startsWith("application/json");
        assertThat(answer.json().path("error").asText()).as("error code").isNotBlank();
        assertThat(answer.json().has("cards")).as("no cards in an error").isFalse();
        assertThat(elapsedMs).as("elapsed ms").isLessThan(OUTAGE_BOUND.toMillis());
    }

    /** topic -> indicator, treatment options, relapse site/timing and proposed tests, for comparing two answers. */
    private static Map<String, String> cardSummary(JsonNode response) {
        Map<String, String> summary = new TreeMap<>();
        for (JsonNode card : response.path("cards")) {
            JsonNode topic = card.path("source").path("topic");
            JsonNode ext = card.path("extension").path("all-cds");
            summary.put(topic.path("code").asText("?"), "indicator=" + card.path("indicator").asText()
                    + " options=" + CardMatcher.treatmentOptions(card)
                    + " site=" + ext.path("relapseSite").asText("-")
                    + " timing=" + ext.path("relapseTiming").asText("-")
                    + " tests=" + CardMatcher.proposedTests(card));
        }
        return summary;
    }

    private static void unpauseQuietly() {
        try {
            if (fhir.getContainerId() != null && Boolean.TRUE.equals(
                    fhir.getDockerClient().inspectContainerCmd(fhir.getContainerId()).exec().getState().getPaused())) {
                fhir.getDockerClient().unpauseContainerCmd(fhir.getContainerId()).exec();
            }
        } catch (RuntimeException ignored) {
            // already gone
        }
    }

    record Answer(int status, String contentType, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (HTTP " + status + "): " + body, e);
            }
        }
    }

    private static Answer post(String service, JsonNode request) throws Exception {
        return send("POST", "/cds-services/" + service, JSON.writeValueAsString(request));
    }

    private static Answer send(String method, String path, String body) throws Exception {
        return sendTo(cds.baseUrl(), method, path, body, "application/json");
    }

    private static Answer sendTo(String base, String method, String path, String body, String contentType) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(Duration.ofSeconds(300))
                .header("Accept", "application/json");
        if (body == null) {
            b.GET();
        } else {
            b.header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofString(body));
        }
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body());
    }

    private static long ms(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private static void log(String format, Object... args) {
        System.out.printf("[CdsServiceEndToEndIT] " + format + "%n", args);
    }
}
