package org.allcds.cds.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.allcds.cds.fhirdata.FhirServerAccess;
import org.allcds.cds.fhirdata.FhirServerFetcher;
import org.allcds.cds.fhirdata.FhirServerSettings;
import org.allcds.cds.problems.RequestProblem;
import org.hl7.fhir.r4.model.Observation;
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
        final List<String> queries = new CopyOnWriteArrayList<>();
        final Map<String, Response> routes = new ConcurrentHashMap<>();
        /** path -> the response for a request's raw query (searches that page) */
        final Map<String, Function<String, Response>> queried = new ConcurrentHashMap<>();

        record Response(int status, Map<String, String> headers, byte[] body, boolean chunked) {}

        Scripted() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/", exchange -> {
                String auth = exchange.getRequestHeaders().getFirst("Authorization");
                authorizations.add(auth == null ? "<none>" : auth);
                String query = exchange.getRequestURI().getRawQuery();
                queries.add(query == null ? "" : query);
                String path = exchange.getRequestURI().getPath();
                Response r = queried.containsKey(path) ? queried.get(path).apply(query == null ? "" : query)
                        : routes.getOrDefault(path, new Response(404, Map.of(), new byte[0], false));
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
        use(settings(5, 1_000_000, 10_000, Duration.ofSeconds(15)));
    }

    /** Fetches from {@link #ehr} with these bounds; per-response limit {@link #LIMIT}. */
    private void use(FhirServerSettings settings) throws IOException {
        if (clients != null) {
            clients.close();
        }
        FhirServerGuard guard = new FhirServerGuard(
                new AuthProperties(false, null, null, null, null, null, null, null, null, null),
                new FhirServerPolicy(List.of(ehr.base()), List.of("127.0.0.1"), List.of("127.0.0.1"), LIMIT));
        clients = new GuardedFhirClients(FHIR, settings.connectTimeout(), settings.readTimeout(), guard);
        fetcher = new FhirServerFetcher(FHIR, settings, guard, clients);
    }

    private static FhirServerSettings settings(int maxPages, long maxCallBytes, int maxCallResources, Duration deadline) {
        return new FhirServerSettings(Duration.ofSeconds(1), Duration.ofSeconds(2), maxPages, 1000,
                maxCallBytes, maxCallResources, deadline);
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
        Resource r = fetcher.call(access()).read("Patient/p1");
        assertThat(r).isInstanceOf(Patient.class);
        assertThat(ehr.authorizations).containsExactly("Bearer " + TOKEN);
    }

    @Test
    void aDeclaredContentLengthOverTheLimitIsRefused() {
        ehr.json("/fhir/Patient/p1", patient((int) LIMIT + 10), false);
        problem(() -> fetcher.call(access()).read("Patient/p1"), 502, "fhir-server-response-too-large");
    }

    @Test
    void aChunkedBodyOverTheLimitIsCutOff() {
        ehr.json("/fhir/Patient/p1", patient((int) LIMIT * 5), true);
        problem(() -> fetcher.call(access()).read("Patient/p1"), 502, "fhir-server-response-too-large");
    }

    @Test
    void aSearchPageOverTheLimitIsRefused() {
        ehr.json("/fhir/Observation", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[{\"resource\":"
                + patient((int) LIMIT) + "}]}", true);
        problem(() -> fetcher.call(access()).search("Observation?patient=p1"), 502, "fhir-server-response-too-large");
    }

    @Test
    void redirectsAreNotFollowedSoTheTokenNeverLeaves() {
        ehr.routes.put("/fhir/Patient/p1", new Scripted.Response(302,
                Map.of("Location", other.base() + "/Patient/p1"), new byte[0], false));
        other.json("/fhir/Patient/p1", patient(10), false);
        assertThatThrownBy(() -> fetcher.call(access()).read("Patient/p1")).isInstanceOf(RequestProblem.class);
        assertThat(other.authorizations).as("the redirect target was never contacted").isEmpty();
    }

    @Test
    void aNextPageLinkToAnotherServerIsNotFollowed() {
        ehr.json("/fhir/Observation", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\","
                + "\"link\":[{\"relation\":\"next\",\"url\":\"" + other.base() + "/Observation?page=2\"}],\"entry\":[]}", false);
        other.json("/fhir/Observation", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[]}", false);
        problem(() -> fetcher.call(access()).search("Observation?patient=p1"), 502, "fhir-server-foreign-link");
        assertThat(other.authorizations).isEmpty();
        assertThat(ehr.authorizations).containsExactly("Bearer " + TOKEN);
    }

    @Test
    void aNextPageLinkThatOnlyLooksLikeTheServerIsNotFollowed() {
        String lookalike = ehr.base().replace("/fhir", "") + ".evil.test/fhir/Observation"; // http://127.0.0.1:P.evil.test/...
        ehr.json("/fhir/Observation", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\","
                + "\"link\":[{\"relation\":\"next\",\"url\":\"" + lookalike + "\"}],\"entry\":[]}", false);
        problem(() -> fetcher.call(access()).search("Observation?patient=p1"), 502, "fhir-server-foreign-link");
    }

    @Test
    void nextPagesOnTheSameServerCarryTheToken() {
        ehr.json("/fhir/Observation", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\","
                + "\"link\":[{\"relation\":\"next\",\"url\":\"" + ehr.base() + "/page2\"}],\"entry\":[]}", false);
        ehr.json("/fhir/page2", "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[]}", false);
        assertThat(fetcher.call(access()).search("Observation?patient=p1")).isEmpty();
        assertThat(ehr.authorizations).containsExactly("Bearer " + TOKEN, "Bearer " + TOKEN);
    }

    @Test
    void aServerNotAllowlistedGetsNoConnection() throws IOException {
        try (ConnectionRecorder recorder = new ConnectionRecorder()) {
            problem(() -> fetcher.call(new FhirServerAccess(recorder.baseUrl(), TOKEN)).read("Patient/p1"), 400,
                    "fhir-server-not-allowed");
            problem(() -> fetcher.call(new FhirServerAccess(recorder.baseUrl(), TOKEN)).search("Observation?patient=p1"), 400,
                    "fhir-server-not-allowed");
            assertThat(recorder.connections()).isZero();
        }
    }

    @Test
    void theConnectTimeAddressCheckStopsAForbiddenAddress() throws IOException {
        // the HTTP client itself refuses: what a DNS-rebinding name resolving to loopback would meet
        FhirServerGuard strict = new FhirServerGuard(new AuthProperties(false, null, null, null, null, null, null, null, null, null),
                new FhirServerPolicy(List.of(), List.of("127.0.0.1"), List.of(), LIMIT));
        GuardedFhirClients strictClients = new GuardedFhirClients(FhirContext.forR4(), Duration.ofSeconds(1),
                Duration.ofSeconds(1), strict);
        try (ConnectionRecorder recorder = new ConnectionRecorder()) {
            assertThatThrownBy(() -> strictClients.newClient(recorder.baseUrl()).read().resource(Patient.class).withId("p1").execute())
                    .hasRootCauseInstanceOf(FhirServerGuard.ForbiddenAddressException.class);
            assertThat(recorder.connections()).isZero();
        } finally {
            strictClients.close();
        }
    }

    private static final Pattern PAGE = Pattern.compile("(?:^|&)page=(\\d+)");

    /** A search of {@code total} Observations served 10 a page whatever {@code _count} asks, with next links. */
    private void pagedByTen(int total) {
        ehr.queried.put("/fhir/Observation", query -> {
            Matcher m = PAGE.matcher(query);
            int page = m.find() ? Integer.parseInt(m.group(1)) : 0;
            StringBuilder body = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"link\":[");
            if ((page + 1) * 10 < total) {
                body.append("{\"relation\":\"next\",\"url\":\"").append(ehr.base())
                        .append("/Observation?patient=p1&page=").append(page + 1).append("\"}");
            }
            body.append("],\"entry\":[");
            for (int i = page * 10; i < Math.min(total, page * 10 + 10); i++) {
                body.append(i > page * 10 ? "," : "").append("{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"o")
                        .append(i).append("\",\"status\":\"final\",\"code\":{\"text\":\"lab\"}}}");
            }
            body.append("]}");
            return new Scripted.Response(200, Map.of(), body.toString().getBytes(StandardCharsets.UTF_8), false);
        });
    }

    /** Conformance: a long-treated patient's record is read whole, even from a server that pages by 10. */
    @Test
    void aLongRecordPagedByTenIsReadWhole() throws IOException {
        use(new FhirServerSettings(Duration.ofSeconds(1), Duration.ofSeconds(2), null, null, null, null, null));
        pagedByTen(700);
        List<Resource> resources = fetcher.call(access()).search("Observation?patient=p1");
        assertThat(resources).hasSize(700).allMatch(Observation.class::isInstance);
        assertThat(resources.get(699).getIdElement().getIdPart()).isEqualTo("o699");
        assertThat(ehr.queries).hasSize(70);
        assertThat(ehr.queries.get(0)).isEqualTo("patient=p1&_count=1000");
    }

    @Test
    void searchesAskForLargePages() {
        pagedByTen(3);
        fetcher.call(access()).search("Observation?patient=p1&category=laboratory");
        fetcher.call(access()).search("Observation");
        fetcher.call(access()).search("Observation?patient=p1&_count=50");
        assertThat(ehr.queries).containsExactly("patient=p1&category=laboratory&_count=1000", "_count=1000",
                "patient=p1&_count=50");
    }

    @Test
    void pagesBeyondTheSanityCapAreRefused() {
        pagedByTen(60); // 6 pages, cap 5
        problem(() -> fetcher.call(access()).search("Observation?patient=p1"), 502, "fhir-server-too-many-pages");
    }

    /** One budget of bytes for every key and page of a hook call: each response is under its own limit. */
    @Test
    void theBytesOfAWholeCallAreBounded() throws IOException {
        use(settings(5, 30_000, 10_000, Duration.ofSeconds(15)));
        ehr.json("/fhir/Patient/p1", patient(12_000), false);
        ehr.json("/fhir/Patient/p2", patient(12_000), true);
        FhirServerFetcher.Call call = fetcher.call(access());
        assertThat(call.read("Patient/p1")).isInstanceOf(Patient.class);
        assertThat(call.read("Patient/p1")).isInstanceOf(Patient.class);
        problem(() -> call.read("Patient/p2"), 502, "fhir-server-too-large");
        // the next hook call has a budget of its own
        assertThat(fetcher.call(access()).read("Patient/p2")).isInstanceOf(Patient.class);
    }

    @Test
    void theResourcesOfAWholeCallAreBounded() throws IOException {
        use(settings(50, 10_000_000, 25, Duration.ofSeconds(15)));
        pagedByTen(20);
        FhirServerFetcher.Call call = fetcher.call(access());
        assertThat(call.search("Observation?patient=p1")).hasSize(20);
        problem(() -> call.search("Observation?patient=p1"), 502, "fhir-server-too-large");
    }

    /** A response dripping a byte every 300 ms never trips the read timeout; the call's deadline cuts it. */
    @Test
    void aDrippingResponseIsCutAtTheCallDeadline() throws IOException {
        try (SlowServer slow = new SlowServer(300)) {
            FhirServerFetcher drip = fetcherFor(slow.base(), settings(5, 1_000_000, 10_000, Duration.ofSeconds(2)));
            assertTimeoutPreemptively(Duration.ofSeconds(20), () ->
                    problem(() -> drip.call(new FhirServerAccess(slow.base(), TOKEN)).read("Patient/p1"), 504, "fhir-server-timeout"));
        }
    }

    /** A response that stalls longer than the time left is cut at the deadline, not after the read timeout. */
    @Test
    void aStalledResponseIsCutAtTheCallDeadline() throws IOException {
        FhirServerSettings longReads = new FhirServerSettings(Duration.ofSeconds(1), Duration.ofSeconds(30), 5, 1000,
                1_000_000L, 10_000, Duration.ofMillis(1500));
        try (SlowServer stalled = new SlowServer(60_000)) {
            FhirServerFetcher fetcher = fetcherFor(stalled.base(), longReads);
            assertTimeoutPreemptively(Duration.ofSeconds(20), () ->
                    problem(() -> fetcher.call(new FhirServerAccess(stalled.base(), TOKEN)).read("Patient/p1"), 504,
                            "fhir-server-timeout"));
        }
    }

    private final List<GuardedFhirClients> extraClients = new CopyOnWriteArrayList<>();

    private FhirServerFetcher fetcherFor(String base, FhirServerSettings settings) {
        FhirServerGuard guard = new FhirServerGuard(new AuthProperties(false, null, null, null, null, null, null, null, null, null),
                new FhirServerPolicy(List.of(base), List.of("127.0.0.1"), List.of("127.0.0.1"), LIMIT));
        FhirContext fhir = FhirContext.forR4();
        GuardedFhirClients own = new GuardedFhirClients(fhir, settings.connectTimeout(), settings.readTimeout(), guard);
        extraClients.add(own);
        return new FhirServerFetcher(fhir, settings, guard, own);
    }

    @AfterEach
    void closeExtraClients() throws IOException {
        for (GuardedFhirClients c : extraClients) {
            c.close();
        }
    }

    /** A loopback FHIR server that sends a Patient's first bytes, then one more byte every {@code pauseMillis}. */
    static final class SlowServer implements AutoCloseable {
        final HttpServer server;
        final ExecutorService threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "slow-fhir-server");
            t.setDaemon(true);
            return t;
        });

        SlowServer(long pauseMillis) throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.setExecutor(threads);
            server.createContext("/", exchange -> {
                exchange.getResponseHeaders().add("Content-Type", "application/fhir+json");
                exchange.sendResponseHeaders(200, 0);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write("{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"text\":\"".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    for (int i = 0; i < 200; i++) {
                        Thread.sleep(pauseMillis);
                        out.write('x');
                        out.flush();
                    }
                    out.write("\"}]}".getBytes(StandardCharsets.UTF_8));
                } catch (IOException | InterruptedException e) {
                    // the client hung up (deadline): fine
                }
            });
            server.start();
        }

        String base() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/fhir";
        }

        @Override
        public void close() {
            server.stop(0);
            threads.shutdownNow();
        }
    }
}
