package org.allcds.cds.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ca.uhn.fhir.context.FhirContext;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.allcds.cds.fhirdata.FhirServerAccess;
import org.allcds.cds.fhirdata.FhirServerFetcher;
import org.allcds.cds.fhirdata.FhirServerSettings;
import org.allcds.cds.problems.RequestProblem;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * FhirServerFetcher on the guarded HTTP client, against scripted FHIR servers on loopback: response
 * size bounds, no redirects, next-page links that leave the server, the token only ever sent to fhirServer.
 */
class FhirServerFetcherSecurityTest {

    private static final long LIMIT = 20_000;
    private static final String TOKEN = "fhir-access-token-123";
    /** Its own context: the guarded factory is installed on it (not on the JVM-wide cached one). */
    private static final FhirContext FHIR = FhirContext.forR4();

    /** A scripted FHIR server: path -> handler; records the Authorization header of every request. */
    static final class Scripted implements AutoCloseable {
        final HttpServer server;
        final List<String> authorizations = new CopyOnWriteArrayList<>();
        final Map<String, Response> routes = new ConcurrentHashMap<>();

        record Response(int status, Map<String, String> headers, byte[] body, boolean chunked) {}

        Scripted() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/", exchange -> {
                String auth = exchange.getRequestHeaders().getFirst("Authorization");
                authorizations.add(auth == null ? "<none>" : auth);
                Response r = routes.getOrDefault(exchange.getRequestURI().getPath(),
                        new Response(404, Map.of(), new byte[0], false));
                r.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
                exchange.getResponseHeaders().add("Content-Type", "application/fhir+json");
                exchange.sendResponseHeaders(r.status(), r.chunked() ? 0 : (r.body().length == 0 ? -1 : r.body().length));
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(r.body());
                } catch (IOException e) {
                    // the client hung up (size limit): fine
                }
            });
            server.start();
        }

        String base() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/fhir";
        }

        void json(String path, String body, boolean chunked) {
            routes.put(path, new Response(200, Map.of(), body.getBytes(StandardCharsets.UTF_8), chunked));
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    Scripted ehr;
    Scripted other;
    FhirServerFetcher fetcher;
    GuardedFhirClients clients;

    @BeforeEach
    void start() throws IOException {
        ehr = new Scripted();
        other = new Scripted();
        FhirContext fhir = FHIR;
        FhirServerSettings settings = new FhirServerSettings(Duration.ofSeconds(1), Duration.ofSeconds(2), 5);
        FhirServerGuard guard = new FhirServerGuard(
                new AuthProperties(false, null, null, null, null, null, null, null, null, null),
                new FhirServerPolicy(List.of(ehr.base()), List.of("127.0.0.1"), List.of("127.0.0.1"), LIMIT));
        clients = new GuardedFhirClients(fhir, settings, guard);
        fetcher = new FhirServerFetcher(fhir, settings, guard, clients);
    }

    @AfterEach
    void stop() throws IOException {
        ehr.close();
        other.close();
        clients.close();
    }

    private FhirServerAccess access() {
        return new FhirServerAccess(ehr.base(), TOKEN);
    }

    private static String patient(int padding) {
        return "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"text\":\"" + "x".repeat(padding) + "\"}]}";
    }

    private static void problem(Runnable call, int status, String code) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(RequestProblem.class, p -> {
            assertThat(p.status().value()).isEqualTo(status);
            assertThat(p.code()).isEqualTo(code);
            assertThat(p.getMessage()).doesNotContain(TOKEN);
        });
    }

    @Test
    void aResponseWithinTheLimitIsRead() {
        ehr.json("/fhir/Patient/p1", patient(100), false);
        Resource r = fetcher.read(access(), "Patient/p1");
        assertThat(r).isInstanceOf(Patient.class);
        assertThat(ehr.authorizations).containsExactly("Bearer " + TOKEN);
    }

    @Test
    void aDeclaredContentLengthOverTheLimitIsRefused() {
        ehr.json("/fhir/Patient/p1", patient((int) LIMIT + 10), false);
        problem(() -> fetcher.read(access(), "Patient/p1"), 502, "fhir-server-response-too-large");
    }

    @Test
    void aChunkedBodyOverTheLimitIsCutOff() {
        ehr.json("/fhir/Patient/p1", patient((int) LIMIT * 5), true);
        problem(() -> fetcher.read(access(), "Patient/p1"), 502, "fhir-server-response-too-large");
    }

    @Test
    void aSearchPageOverTheLimitIsRefused() {
        ehr.json("/fhir/Observation", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[{\"resource\":"
                + patient((int) LIMIT) + "}]}", true);
        problem(() -> fetcher.search(access(), "Observation?patient=p1"), 502, "fhir-server-response-too-large");
    }

    @Test
    void redirectsAreNotFollowedSoTheTokenNeverLeaves() {
        ehr.routes.put("/fhir/Patient/p1", new Scripted.Response(302,
                Map.of("Location", other.base() + "/Patient/p1"), new byte[0], false));
        other.json("/fhir/Patient/p1", patient(10), false);
        assertThatThrownBy(() -> fetcher.read(access(), "Patient/p1")).isInstanceOf(RequestProblem.class);
        assertThat(other.authorizations).as("the redirect target was never contacted").isEmpty();
    }

    @Test
    void aNextPageLinkToAnotherServerIsNotFollowed() {
        ehr.json("/fhir/Observation", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\","
                + "\"link\":[{\"relation\":\"next\",\"url\":\"" + other.base() + "/Observation?page=2\"}],\"entry\":[]}", false);
        other.json("/fhir/Observation", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[]}", false);
        problem(() -> fetcher.search(access(), "Observation?patient=p1"), 502, "fhir-server-foreign-link");
        assertThat(other.authorizations).isEmpty();
        assertThat(ehr.authorizations).containsExactly("Bearer " + TOKEN);
    }

    @Test
    void aNextPageLinkThatOnlyLooksLikeTheServerIsNotFollowed() {
        String lookalike = ehr.base().replace("/fhir", "") + ".evil.test/fhir/Observation"; // http://127.0.0.1:P.evil.test/...
        ehr.json("/fhir/Observation", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\","
                + "\"link\":[{\"relation\":\"next\",\"url\":\"" + lookalike + "\"}],\"entry\":[]}", false);
        problem(() -> fetcher.search(access(), "Observation?patient=p1"), 502, "fhir-server-foreign-link");
    }

    @Test
    void nextPagesOnTheSameServerCarryTheToken() {
        ehr.json("/fhir/Observation", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\","
                + "\"link\":[{\"relation\":\"next\",\"url\":\"" + ehr.base() + "/page2\"}],\"entry\":[]}", false);
        ehr.json("/fhir/page2", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[]}", false);
        assertThat(fetcher.search(access(), "Observation?patient=p1")).isEmpty();
        assertThat(ehr.authorizations).containsExactly("Bearer " + TOKEN, "Bearer " + TOKEN);
    }

    @Test
    void aServerNotAllowlistedGetsNoConnection() throws IOException {
        try (ConnectionRecorder recorder = new ConnectionRecorder()) {
            problem(() -> fetcher.read(new FhirServerAccess(recorder.baseUrl(), TOKEN), "Patient/p1"), 400,
                    "fhir-server-not-allowed");
            problem(() -> fetcher.search(new FhirServerAccess(recorder.baseUrl(), TOKEN), "Observation?patient=p1"), 400,
                    "fhir-server-not-allowed");
            assertThat(recorder.connections()).isZero();
        }
    }

    @Test
    void theConnectTimeAddressCheckStopsAForbiddenAddress() throws IOException {
        // the HTTP client itself refuses: what a DNS-rebinding name resolving to loopback would meet
        FhirServerGuard strict = new FhirServerGuard(new AuthProperties(false, null, null, null, null, null, null, null, null, null),
                new FhirServerPolicy(List.of(), List.of("127.0.0.1"), List.of(), LIMIT));
        GuardedFhirClients strictClients = new GuardedFhirClients(FhirContext.forR4(),
                new FhirServerSettings(Duration.ofSeconds(1), Duration.ofSeconds(1), 5), strict);
        try (ConnectionRecorder recorder = new ConnectionRecorder()) {
            assertThatThrownBy(() -> strictClients.newClient(recorder.baseUrl()).read().resource(Patient.class).withId("p1").execute())
                    .hasRootCauseInstanceOf(FhirServerGuard.ForbiddenAddressException.class);
            assertThat(recorder.connections()).isZero();
        } finally {
            strictClients.close();
        }
    }
}
