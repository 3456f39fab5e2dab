package org.allcds.cds.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.allcds.cds.security.TestTokens;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.allcds.testfhir.containers.CdsServiceContainer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * Two replicas of the service (its container image) sharing one PostgreSQL (the image scripts/ensure-postgres-image.sh
 * builds from Debian packages: nothing is pulled), with JWT authentication on: a card issued by replica A gets its
 * feedback on replica B; a token presented to A and replayed to B is refused there; and replica A stopped while
 * feedback is being sent to both loses none (every item answered 200, by A before it stopped or by B on the
 * client's retry, is in the database exactly once).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LedgerReplicasIT {

    static final String POSTGRES_IMAGE = System.getProperty("allcds.postgresImage", "all-cds/postgres15:bookworm");
    static final String ISSUER = "https://ehr.example.org";
    static final String AUDIENCE = "https://cds.example.org/cds-services";
    static final String SERVICE = "all-disease-status";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(3)).build();

    static Network network;
    static GenericContainer<?> postgres;
    static CdsServiceContainer a;
    static CdsServiceContainer b;
    static HttpServer jwks;
    static String jwksUrl;
    static ECKey key;

    @BeforeAll
    static void start() throws Exception {
        network = Network.newNetwork();
        key = TestTokens.ecKey("it-key", Curve.P_384);
        // The replicas fetch the EHR's keys from this JVM, through the Docker network's gateway.
        String gateway = DockerClientFactory.instance().client().inspectNetworkCmd().withNetworkId(network.getId()).exec()
                .getIpam().getConfig().get(0).getGateway();
        byte[] keys = new JWKSet(key).toPublicJWKSet().toString().getBytes(StandardCharsets.UTF_8);
        jwks = HttpServer.create(new InetSocketAddress("0.0.0.0", 0), 0);
        jwks.createContext("/jwks.json", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, keys.length);
            exchange.getResponseBody().write(keys);
            exchange.close();
        });
        jwks.start();
        jwksUrl = "http://" + gateway + ":" + jwks.getAddress().getPort() + "/jwks.json";

        postgres = new GenericContainer<>(DockerImageName.parse(POSTGRES_IMAGE)).withNetwork(network).withNetworkAliases("db")
                .withEnv("POSTGRES_USER", "allcds").withEnv("POSTGRES_PASSWORD", "allcds").withEnv("POSTGRES_DB", "allcds")
                .withExposedPorts(5432)
                // printed once by the image's start script (the official image prints it twice)
                .waitingFor(Wait.forLogMessage(".*database system is ready to accept connections.*", 1)
                        .withStartupTimeout(Duration.ofMinutes(1)));
        postgres.start();
        a = replica();
        b = replica();
        CompletableFuture<Void> aUp = CompletableFuture.runAsync(a::start);
        b.start();
        aUp.join();
        System.out.printf("[LedgerReplicasIT] postgres and two replicas up; keys at %s%n", jwksUrl);
    }

    static CdsServiceContainer replica() {
        return new CdsServiceContainer().withNetwork(network)
                .withEnv("JAVA_OPTS", "-XX:MaxRAMPercentage=75 -XX:+UseSerialGC -XX:TieredStopAtLevel=1")
                .withEnv("SPRING_DATASOURCE_URL", "jdbc:postgresql://db:5432/allcds")
                .withEnv("SPRING_DATASOURCE_USERNAME", "allcds")
                .withEnv("SPRING_DATASOURCE_PASSWORD", "allcds")
                .withCommand("--all-cds.auth.audience=" + AUDIENCE,
                        "--all-cds.auth.issuers[0].iss=" + ISSUER,
                        "--all-cds.auth.issuers[0].jwks-url=" + jwksUrl,
                        "--all-cds.warmup.rounds=1");
    }

    @AfterAll
    static void stop() {
        for (GenericContainer<?> c : new GenericContainer<?>[] {a, b, postgres}) {
            if (c != null) {
                c.stop();
            }
        }
        if (jwks != null) {
            jwks.stop(0);
        }
        if (network != null) {
            network.close();
        }
    }

    record Answer(int status, JsonNode body) {}

    static String token(String path) {
        return TestTokens.sign(key, JWSAlgorithm.ES384, TestTokens.claims(ISSUER, AUDIENCE + path).build());
    }

    static Answer post(CdsServiceContainer replica, String path, JsonNode body, String token) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(replica.baseUrl() + "/cds-services" + path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + token)
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body()));
    }

    static JsonNode cards(CdsServiceContainer replica, String scenario) throws Exception {
        JsonNode request = HookRequests.withPrefetch(FixtureCatalog.find(scenario).orElseThrow(), LocalDate.now(ZoneOffset.UTC));
        Answer answer = post(replica, "/" + SERVICE, request, token("/" + SERVICE));
        assertThat(answer.status()).as("hook call: %s", answer.body()).isEqualTo(200);
        return answer.body().get("cards");
    }

    static ObjectNode overridden(String card, Instant when) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode item = body.putArray("feedback").addObject();
        item.put("card", card);
        item.put("outcome", "overridden");
        item.put("outcomeTimestamp", when.toString());
        item.putObject("overrideReason").putObject("reason").put("system", "urn:all-cds:override-reason").put("code", "disagree");
        return body;
    }

    static Answer feedback(CdsServiceContainer replica, JsonNode body) throws Exception {
        return post(replica, "/" + SERVICE + "/feedback", body, token("/" + SERVICE + "/feedback"));
    }

    static long feedbackRows(List<String> cards) throws Exception {
        String url = "jdbc:postgresql://" + postgres.getHost() + ":" + postgres.getMappedPort(5432) + "/allcds";
        try (Connection c = DriverManager.getConnection(url, "allcds", "allcds");
                PreparedStatement s = c.prepareStatement("select count(*) from card_feedback where card_uuid = any (cast(? as uuid[]))")) {
            s.setArray(1, c.createArrayOf("varchar", cards.toArray()));
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getLong(1);
            }
        }
    }

    @Test
    @Order(1)
    void aCardIssuedByOneReplicaGetsItsFeedbackOnTheOther() throws Exception {
        String card = cards(a, "late-marrow-relapse").get(0).get("uuid").asText();
        ObjectNode body = overridden(card, Instant.now());
        assertThat(feedback(b, body).status()).isEqualTo(200);
        // sent again, to A: stored once
        assertThat(feedback(a, body).status()).isEqualTo(200);
        assertThat(feedbackRows(List.of(card))).isEqualTo(1);
        // a card no replica issued
        Answer unknown = feedback(b, overridden("5d0c7a38-2b5e-4f0e-9a51-0c2b8e1f3d47", Instant.now()));
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.body().get("error").asText()).isEqualTo("unknown-card");
    }

    @Test
    @Order(2)
    void aTokenReplayedToTheOtherReplicaIsRefused() throws Exception {
        JsonNode request = HookRequests.withPrefetch(FixtureCatalog.find("late-marrow-relapse").orElseThrow(),
                LocalDate.now(ZoneOffset.UTC));
        String once = token("/" + SERVICE);
        assertThat(post(a, "/" + SERVICE, request, once).status()).isEqualTo(200);
        assertThat(post(b, "/" + SERVICE, request, once).status()).isEqualTo(401);
        assertThat(post(a, "/" + SERVICE, request, once).status()).isEqualTo(401);
    }

    @Test
    @Order(3)
    void aReplicaStoppedMidLoadLosesNoFeedback() throws Exception {
        List<String> issued = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            for (JsonNode card : cards(i % 2 == 0 ? a : b, "late-marrow-relapse")) {
                issued.add(card.get("uuid").asText());
            }
        }
        AtomicBoolean aStopped = new AtomicBoolean();
        Instant base = Instant.parse("2026-01-01T00:00:00Z");
        int sent = 0;
        int retried = 0;
        int afterStop = 0;
        for (int i = 0; i < 20 || afterStop < 10; i++) {
            if (aStopped.get()) {
                afterStop++;
            }
            if (i == 20) {
                // a rolling restart: SIGTERM, in-flight calls finish, then the replica is gone
                CompletableFuture.runAsync(() -> {
                    a.getDockerClient().stopContainerCmd(a.getContainerId()).withTimeout(20).exec();
                    aStopped.set(true);
                });
            }
            ObjectNode body = overridden(issued.get(i % issued.size()), base.plusSeconds(i));
            Answer answer;
            try {
                answer = feedback(i % 2 == 0 ? a : b, body);
            } catch (java.io.IOException gone) {
                answer = new Answer(0, null);
            }
            if (answer.status() != 200) {
                // what a load balancer or the EHR does with a call that failed: send it to the other replica
                retried++;
                answer = feedback(b, body);
            }
            assertThat(answer.status()).as("feedback %d: %s", i, answer.body()).isEqualTo(200);
            sent++;
        }
        assertThat(retried).as("calls that reached the stopped replica and were sent again").isPositive();
        assertThat(feedbackRows(issued)).isEqualTo(sent);
    }
}
