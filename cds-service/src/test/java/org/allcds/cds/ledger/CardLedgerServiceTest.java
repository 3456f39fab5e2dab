package org.allcds.cds.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.allcds.cds.AllCdsApplication;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The card ledger through the whole service over HTTP, on the embedded PostgreSQL in a temporary data directory:
 * cards carry the override reasons, feedback is stored against its card (once, however often it is sent; a card
 * never issued is a 400), kept across a restart on the same data directory (the analytics count it), and an
 * already-addressed override holds back that card, and only that card, on the next identical call.
 */
class CardLedgerServiceTest {

    static final String TOKEN = "analytics-secret-for-tests";

    @TempDir
    static Path dataDir;

    static ConfigurableApplicationContext app;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final ObjectMapper json = new ObjectMapper();

    @BeforeAll
    static void start() {
        app = startService();
    }

    @AfterAll
    static void stop() {
        if (app != null) {
            app.close();
        }
    }

    static ConfigurableApplicationContext startService() {
        // as arguments: they win over the test profile's (which turns the ledger off)
        return new SpringApplicationBuilder(AllCdsApplication.class).profiles("test")
                .run("--server.port=0", "--all-cds.ledger.enabled=true", "--all-cds.data-dir=" + dataDir,
                        "--all-cds.analytics.token=" + TOKEN);
    }

    record Answer(int status, JsonNode body) {}

    static Answer post(String path, JsonNode body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), json.readTree(r.body().isEmpty() ? "{}" : r.body()));
    }

    static Answer get(String path, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).GET();
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), json.readTree(r.body()));
    }

    static URI uri(String path) {
        int port = ((WebServerApplicationContext) app).getWebServer().getPort();
        return URI.create("http://localhost:" + port + path);
    }

    static JsonNode hookCall(String scenario) throws Exception {
        JsonNode request = HookRequests.withPrefetch(FixtureCatalog.find(scenario).orElseThrow(), LocalDate.now(ZoneOffset.UTC));
        Answer answer = post("/cds-services/all-disease-status", request);
        assertThat(answer.status()).as("hook call: %s", answer.body()).isEqualTo(200);
        return answer.body().get("cards");
    }

    static JsonNode card(JsonNode cards, String topic) {
        for (JsonNode card : cards) {
            if (topic.equals(card.at("/source/topic/code").asText())) {
                return card;
            }
        }
        throw new AssertionError("no " + topic + " card in " + cards);
    }

    static List<String> topics(JsonNode cards) {
        List<String> topics = new ArrayList<>();
        cards.forEach(card -> topics.add(card.at("/source/topic/code").asText()));
        return topics;
    }

    /** A feedback item accepting the card's first suggestion. */
    static ObjectNode acceptedFirstSuggestion(JsonNode card, String at) {
        ObjectNode accepted = json.createObjectNode();
        accepted.put("card", card.get("uuid").asText());
        accepted.put("outcome", "accepted");
        accepted.put("outcomeTimestamp", at);
        accepted.putArray("acceptedSuggestions").addObject().put("id", card.at("/suggestions/0/uuid").asText());
        return accepted;
    }

    static ObjectNode overridden(JsonNode card, String reason, String time) {
        ObjectNode item = json.createObjectNode();
        item.put("card", card.get("uuid").asText());
        item.put("outcome", "overridden");
        item.put("outcomeTimestamp", time);
        ObjectNode overrideReason = item.putObject("overrideReason");
        overrideReason.putObject("reason").put("system", "urn:all-cds:override-reason").put("code", reason);
        overrideReason.put("userComment", "discussed at tumour board");
        return item;
    }

    static ObjectNode feedback(ObjectNode... items) {
        ObjectNode body = json.createObjectNode();
        ArrayNode list = body.putArray("feedback");
        for (ObjectNode item : items) {
            list.add(item);
        }
        return body;
    }

    static final String FEEDBACK = "/cds-services/all-disease-status/feedback";

    @Test
    void everyCardOffersTheContractsOverrideReasons() throws Exception {
        JsonNode cards = hookCall("late-marrow-relapse");
        assertThat(cards).isNotEmpty();
        for (JsonNode card : cards) {
            List<String> codes = new ArrayList<>();
            for (JsonNode reason : card.get("overrideReasons")) {
                assertThat(reason.get("system").asText()).isEqualTo("urn:all-cds:override-reason");
                assertThat(reason.get("display").asText()).isNotBlank();
                codes.add(reason.get("code").asText());
            }
            assertThat(codes).containsExactly("already-addressed", "not-applicable", "disagree", "data-incorrect");
        }
    }

    @Test
    void feedbackOnACardNeverIssuedIsA400NamingIt() throws Exception {
        JsonNode cards = hookCall("late-marrow-relapse");
        ObjectNode known = overridden(card(cards, "tx-relapse-review"), "disagree", "2026-01-02T10:00:00Z");
        ObjectNode unknown = overridden(card(cards, "tx-relapse-review"), "disagree", "2026-01-02T10:00:00Z");
        unknown.put("card", "0b5e3d6c-5f5e-4c43-9a57-3f4d2b7a9e11");
        Answer answer = post(FEEDBACK, feedback(known, unknown));
        assertThat(answer.status()).isEqualTo(400);
        assertThat(answer.body().get("error").asText()).isEqualTo("unknown-card");
        assertThat(answer.body().get("message").asText()).contains("feedback[1].card").contains("0b5e3d6c-5f5e-4c43-9a57-3f4d2b7a9e11");

        ObjectNode notItsSuggestion = json.createObjectNode();
        notItsSuggestion.put("card", card(cards, "dx-relapse-characterization").get("uuid").asText());
        notItsSuggestion.put("outcome", "accepted");
        notItsSuggestion.put("outcomeTimestamp", "2026-01-02T10:00:00Z");
        notItsSuggestion.putArray("acceptedSuggestions").addObject().put("id", "6f1c2b7e-0a4d-4f7e-9c1b-2d3e4f5a6b7c");
        answer = post(FEEDBACK, feedback(notItsSuggestion));
        assertThat(answer.status()).isEqualTo(400);
        assertThat(answer.body().get("message").asText()).contains("feedback[0].acceptedSuggestions[0]");
    }

    @Test
    void feedbackIsStoredOnceAndCountedByTheAnalyticsAfterARestart() throws Exception {
        // the analytics window holds this test's cards only (the other tests share the database)
        String from = java.time.Instant.now().minusMillis(1).toString();
        JsonNode cards = hookCall("combined-relapse");
        JsonNode workup = card(cards, "dx-relapse-characterization");
        ObjectNode accepted = acceptedFirstSuggestion(workup, "2026-01-02T10:00:00Z");
        ObjectNode disagreed = overridden(card(cards, "tx-relapse-review"), "disagree", "2026-01-02T10:01:00+01:00");
        assertThat(post(FEEDBACK, feedback(accepted, disagreed)).status()).isEqualTo(200);
        // CDS Hooks 2.0: a client may send the same feedback again; it is stored once
        assertThat(post(FEEDBACK, feedback(accepted, disagreed)).status()).isEqualTo(200);

        app.close();
        app = startService();

        assertThat(get("/analytics/cards", null).status()).isEqualTo(401);
        assertThat(get("/analytics/cards", "not-the-token").status()).isEqualTo(401);
        Answer report = get("/analytics/cards?from=" + from, TOKEN);
        assertThat(report.status()).as("%s", report.body()).isEqualTo(200);
        JsonNode topics = report.body().at("/services/0/topics");
        assertThat(report.body().at("/services/0/service").asText()).isEqualTo("all-disease-status");
        JsonNode workupCounts = find(topics, "dx-relapse-characterization");
        assertThat(workupCounts.get("accepted").asLong()).isEqualTo(1);
        assertThat(workupCounts.get("overridden").asLong()).isZero();
        JsonNode suggestion = null;
        for (JsonNode s : workupCounts.get("suggestions")) {
            if (s.get("label").asText().equals(workup.at("/suggestions/0/label").asText())) {
                suggestion = s;
            }
        }
        assertThat(suggestion).isNotNull();
        assertThat(suggestion.get("accepted").asLong()).isEqualTo(1);
        assertThat(suggestion.get("acceptanceRate").asDouble()).isGreaterThan(0);
        JsonNode reviewCounts = find(topics, "tx-relapse-review");
        assertThat(reviewCounts.get("overridden").asLong()).isEqualTo(1);
        assertThat(reviewCounts.get("accepted").asLong()).isZero();
        assertThat(reviewCounts.at("/overrideReasons/disagree").asLong()).isEqualTo(1);
        assertThat(reviewCounts.get("issued").asLong()).isEqualTo(1);
    }

    @Test
    void dailyCountsGiveEachTopicsCardsAndOutcomesPerDayOfIssue() throws Exception {
        String from = java.time.Instant.now().minusMillis(1).toString();
        JsonNode cards = hookCall("combined-relapse");
        JsonNode workup = card(cards, "dx-relapse-characterization");
        ObjectNode accepted = acceptedFirstSuggestion(workup, "2026-01-03T10:00:00Z");
        ObjectNode overridden = overridden(card(cards, "tx-relapse-review"), "not-applicable", "2026-01-03T10:01:00Z");
        assertThat(post(FEEDBACK, feedback(accepted, overridden)).status()).isEqualTo(200);
        String today = LocalDate.now(ZoneOffset.UTC).toString();

        assertThat(get("/analytics/cards/daily?from=" + from, null).status()).isEqualTo(401);
        Answer daily = get("/analytics/cards/daily?from=" + from, TOKEN);
        assertThat(daily.status()).as("%s", daily.body()).isEqualTo(200);
        assertThat(daily.body().get("bucket").asText()).isEqualTo("day");
        assertThat(daily.body().get("zone").asText()).isEqualTo("UTC");
        assertThat(daily.body().at("/services/0/service").asText()).isEqualTo("all-disease-status");
        JsonNode topics = daily.body().at("/services/0/topics");
        assertThat(topics).hasSize(cards.size());
        JsonNode workupDays = find(topics, "dx-relapse-characterization").get("days");
        assertThat(workupDays).hasSize(1);
        assertThat(workupDays.get(0).get("day").asText()).isEqualTo(today);
        assertThat(workupDays.get(0).get("issued").asLong()).isEqualTo(1);
        assertThat(workupDays.get(0).get("accepted").asLong()).isEqualTo(1);
        assertThat(workupDays.get(0).get("overridden").asLong()).isZero();
        JsonNode reviewDays = find(topics, "tx-relapse-review").get("days");
        assertThat(reviewDays.get(0).get("overridden").asLong()).isEqualTo(1);
        assertThat(reviewDays.get(0).get("accepted").asLong()).isZero();

        // a window before these cards has none of them
        Answer before = get("/analytics/cards/daily?from=2020-01-01&to=2020-02-01", TOKEN);
        assertThat(before.status()).isEqualTo(200);
        assertThat(before.body().get("services")).isEmpty();
        Answer bad = get("/analytics/cards/daily?from=yesterday", TOKEN);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body().get("error").asText()).isEqualTo("invalid-range");
    }

    @Test
    void analyticsPageIsServedWithoutTheTokenButEverySpellingOfItsDataNeedsIt() throws Exception {
        for (String page : List.of("/analytics", "/analytics/", "/analytics/index.html", "/analytics/analytics.js",
                "/analytics/analytics.css")) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(page)).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(page).isIn(200, 302);
            assertThat(r.body()).as(page).doesNotContain("\"services\"");
        }
        assertThat(http.send(HttpRequest.newBuilder(uri("/analytics/")).GET().build(), HttpResponse.BodyHandlers.ofString()).body())
                .contains("<title>Card outcomes");
        for (String data : List.of("/analytics/cards", "/analytics/cards/", "/analytics/cards/daily", "/analytics/cards/daily/",
                "/analytics/cards?bucket=day", "/analytics/cards;x=1", "/analytics/index.html;/../cards", "/analytics//cards",
                "/analytics/./cards", "/analytics/x/../cards", "/analytics/%63ards", "/analytics%2Fcards", "/Analytics/cards",
                "/analytics/cards.json", "/analytics/index.html/../cards")) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(data)).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(data).isIn(400, 401, 404);
            assertThat(r.body()).as(data).doesNotContain("\"services\"").doesNotContain("\"issued\"");
        }
    }

    @Test
    void anAlreadyAddressedOverrideHoldsBackThatCardOnNextIdenticalCallAndNotTheOthers() throws Exception {
        JsonNode cards = hookCall("contradictory-record");
        assertThat(topics(cards)).contains("data-conflict", "tx-relapse-review", "dx-relapse-characterization");
        String now = java.time.Instant.now().toString();
        Answer stored = post(FEEDBACK, feedback(overridden(card(cards, "tx-relapse-review"), "already-addressed", now),
                overridden(card(cards, "data-conflict"), "already-addressed", now)));
        assertThat(stored.status()).as("%s", stored.body()).isEqualTo(200);

        JsonNode again = hookCall("contradictory-record");
        assertThat(topics(again)).doesNotContain("tx-relapse-review")
                // never held back: a data problem shows until it is fixed
                .contains("data-conflict", "dx-relapse-characterization");
        // another patient's relapse card is not held back
        assertThat(topics(hookCall("late-marrow-relapse"))).contains("tx-relapse-review");
    }

    @Test
    void prometheusShowsCallsCardsPerTopicAndFeedbackOutcomes() throws Exception {
        JsonNode cards = hookCall("late-marrow-relapse");
        assertThat(post(FEEDBACK, feedback(overridden(card(cards, "tx-relapse-review"), "not-applicable",
                java.time.Instant.now().toString()))).status()).isEqualTo(200);
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(uri("/actuator/prometheus")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body())
                .contains("allcds_hook_calls_seconds_count{service=\"all-disease-status\",status=\"200\"}")
                .contains("allcds_cards_issued_total{service=\"all-disease-status\",topic=\"tx-relapse-review\"}")
                .contains("allcds_feedback_items_total{outcome=\"overridden\",service=\"all-disease-status\"}");
    }

    static JsonNode find(JsonNode topics, String topic) {
        for (JsonNode t : topics) {
            if (topic.equals(t.get("topic").asText())) {
                return t;
            }
        }
        throw new AssertionError("no " + topic + " in " + topics);
    }
}
