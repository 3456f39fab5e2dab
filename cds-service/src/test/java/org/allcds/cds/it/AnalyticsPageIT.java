package org.allcds.cds.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The card ledger's analytics page ({@code /analytics}) in headless Chromium, on the service run in-process with the
 * ledger on (embedded PostgreSQL in a temporary data directory) and an analytics token. Hook calls and feedback go
 * through HTTP as an EHR sends them: one card accepted with a suggestion, relapse-review cards overridden with two
 * different reasons. The page is opened with the token in its URL fragment; what it plots is read from
 * {@code window.analyticsData} (not from pixels) and compared with that feedback and with the JSON the page reads.
 * A screenshot goes to {@code target/analytics.png} (the README's {@code docs/analytics.png}).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("test")
class AnalyticsPageIT {

    static final String TOKEN = "analytics-page-test-token";
    static final String SERVICE = "all-disease-status";
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static Path dataDir;
    static HeadlessChromium chromium;
    static WebDriver browser;
    static boolean fed;
    static String acceptedSuggestionLabel;

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void ledgerOn(DynamicPropertyRegistry registry) throws IOException {
        dataDir = Files.createTempDirectory("analytics-page-it");
        registry.add("all-cds.data-dir", dataDir::toString);
        registry.add("all-cds.ledger.enabled", () -> "true");
        registry.add("all-cds.analytics.token", () -> TOKEN);
        registry.add("all-cds.analytics.open", () -> "false");
    }

    @BeforeAll
    static void startBrowser() {
        chromium = HeadlessChromium.start(1280, 1180);
        browser = chromium.browser();
    }

    @AfterAll
    static void stopBrowser() {
        if (chromium != null) {
            chromium.close();
        }
    }

    /** Once: two hook calls and their feedback, as an EHR sends them. */
    @BeforeEach
    void callHooksAndSendFeedback() throws Exception {
        if (fed) {
            return;
        }
        JsonNode relapseCards = hookCall("combined-relapse");
        JsonNode workup = card(relapseCards, "dx-relapse-characterization");
        ObjectNode accepted = JSON.createObjectNode();
        accepted.put("card", workup.get("uuid").asText());
        accepted.put("outcome", "accepted");
        accepted.put("outcomeTimestamp", Instant.now().toString());
        accepted.putArray("acceptedSuggestions").addObject().put("id", workup.at("/suggestions/0/uuid").asText());
        sendFeedback(accepted, overridden(card(relapseCards, "tx-relapse-review"), "disagree"));
        acceptedSuggestionLabel = workup.at("/suggestions/0/label").asText();

        JsonNode lateCards = hookCall("late-marrow-relapse");
        sendFeedback(overridden(card(lateCards, "tx-relapse-review"), "not-applicable"));
        fed = true;
    }

    @Test
    void chartsAndTablesShowTheFeedbackSentToTheLedger() throws Exception {
        JsonNode data = open("/analytics/#token=" + TOKEN);

        assertThat(data.path("status").asText()).as("analyticsData %s", data).isEqualTo("ready");
        assertThat(browser.getCurrentUrl()).as("the token is taken off the address bar").doesNotContain(TOKEN);

        JsonNode review = topic(data.path("topics"), "tx-relapse-review");
        assertThat(review.path("issued").asLong()).isEqualTo(2);
        assertThat(review.path("overridden").asLong()).isEqualTo(2);
        assertThat(review.path("accepted").asLong()).isZero();
        JsonNode workup = topic(data.path("topics"), "dx-relapse-characterization");
        assertThat(workup.path("accepted").asLong()).isEqualTo(1);
        assertThat(workup.path("overridden").asLong()).isZero();
        // every topic the ledger reports is plotted, with the same counts
        JsonNode report = get("/analytics/cards?from=" + data.path("from").asText() + "&to=" + data.path("to").asText());
        List<String> reported = new ArrayList<>();
        report.at("/services/0/topics").forEach(t -> reported.add(t.path("topic").asText() + " " + t.path("issued").asLong()
                + " " + t.path("accepted").asLong() + " " + t.path("overridden").asLong()));
        List<String> plotted = new ArrayList<>();
        data.path("topics").forEach(t -> plotted.add(t.path("topic").asText() + " " + t.path("issued").asLong()
                + " " + t.path("accepted").asLong() + " " + t.path("overridden").asLong()));
        assertThat(plotted).isEqualTo(reported);

        // over time: today's point of each topic's accepted and overridden lines
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        List<String> days = new ArrayList<>();
        data.at("/daily/days").forEach(d -> days.add(d.asText()));
        int todayIndex = days.indexOf(today);
        assertThat(todayIndex).as("days %s", days).isNotNegative();
        assertThat(series(data, "tx-relapse-review", "overridden").path("data").path(todayIndex).asLong()).isEqualTo(2);
        assertThat(series(data, "tx-relapse-review", "accepted").path("data").path(todayIndex).asLong()).isZero();
        assertThat(series(data, "dx-relapse-characterization", "accepted").path("data").path(todayIndex).asLong()).isEqualTo(1);
        long otherDays = 0;
        for (JsonNode s : data.at("/daily/series")) {
            for (int i = 0; i < days.size(); i++) {
                otherDays += i == todayIndex ? 0 : s.path("data").path(i).asLong();
            }
        }
        assertThat(otherDays).as("outcomes plotted on other days").isZero();

        // the reasons' bars
        assertThat(data.at("/reasons/codes")).extracting(JsonNode::asText).containsExactly("disagree", "not-applicable");
        assertThat(data.at("/reasons/totals/disagree").asLong()).isEqualTo(1);
        assertThat(data.at("/reasons/totals/not-applicable").asLong()).isEqualTo(1);
        assertThat(data.at("/reasons/series")).hasSize(1);
        assertThat(data.at("/reasons/series/0/topic").asText()).isEqualTo("tx-relapse-review");

        // the suggestion accepted, in the table
        String label = acceptedSuggestionLabel;
        JsonNode suggestion = null;
        for (JsonNode s : data.path("suggestions")) {
            if (s.path("label").asText().equals(label)) {
                suggestion = s;
            }
        }
        assertThat(suggestion).as("suggestion %s in %s", label, data.path("suggestions")).isNotNull();
        // each work-up card offered it (both relapse records got one); one was accepted
        long offered = workup.path("issued").asLong();
        assertThat(suggestion.path("offered").asLong()).isEqualTo(offered);
        assertThat(suggestion.path("accepted").asLong()).isEqualTo(1);
        assertThat(suggestion.path("acceptanceRate").asDouble()).isEqualTo(Math.round(1000.0 / offered) / 1000.0);
        assertThat(browser.findElement(By.id("suggestions")).getText()).contains(label);

        // the charts are drawn (ECharts puts a canvas in each container)
        assertThat(browser.findElements(By.cssSelector("#daily canvas"))).isNotEmpty();
        assertThat(browser.findElements(By.cssSelector("#reasons canvas"))).isNotEmpty();
        assertThat(browser.findElement(By.id("report")).isDisplayed()).isTrue();

        Path shot = Path.of("target", "analytics.png");
        Files.copy(((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath(), shot,
                StandardCopyOption.REPLACE_EXISTING);
        System.out.println("[AnalyticsPageIT] screenshot " + shot.toAbsolutePath());
    }

    @Test
    void withoutTheTokenThePageAsksForItAndShowsNoData() throws Exception {
        JsonNode data = open("/analytics");

        assertThat(data.path("status").asText()).as("analyticsData %s", data).isEqualTo("unauthorized");
        assertThat(browser.findElement(By.id("message")).getText()).contains("analytics token");
        assertThat(browser.findElement(By.id("report")).isDisplayed()).isFalse();
    }

    @Test
    void aWindowWithNoCardsGetsAClearMessageNotEmptyCharts() throws Exception {
        JsonNode data = open("/analytics/?from=2020-01-01&to=2020-02-01#token=" + TOKEN);

        assertThat(data.path("status").asText()).as("analyticsData %s", data).isEqualTo("empty");
        assertThat(browser.findElement(By.id("message")).getText()).startsWith("No cards were issued between");
        assertThat(browser.findElement(By.id("report")).isDisplayed()).isFalse();
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Opens the page afresh (a new document, not a fragment change) and waits until it has published its data. */
    private JsonNode open(String path) throws Exception {
        browser.get("about:blank");
        browser.get("http://localhost:" + port + path);
        JavascriptExecutor js = (JavascriptExecutor) browser;
        new WebDriverWait(browser, Duration.ofSeconds(30)).until(d -> {
            Object status = js.executeScript("return document.body.getAttribute('data-analytics-status')");
            return status != null && !"loading".equals(status);
        });
        return JSON.readTree((String) js.executeScript("return JSON.stringify(window.analyticsData)"));
    }

    private JsonNode hookCall(String scenario) throws Exception {
        JsonNode request = HookRequests.withPrefetch(FixtureCatalog.find(scenario).orElseThrow(), LocalDate.now(ZoneOffset.UTC));
        HttpResponse<String> answer = post("/cds-services/" + SERVICE, request);
        assertThat(answer.statusCode()).as("hook call: %s", answer.body()).isEqualTo(200);
        return JSON.readTree(answer.body()).get("cards");
    }

    private void sendFeedback(ObjectNode... items) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        for (ObjectNode item : items) {
            body.withArray("feedback").add(item);
        }
        HttpResponse<String> answer = post("/cds-services/" + SERVICE + "/feedback", body);
        assertThat(answer.statusCode()).as("feedback: %s", answer.body()).isEqualTo(200);
    }

    private HttpResponse<String> post(String path, JsonNode body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode get(String path) throws Exception {
        HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Authorization", "Bearer " + TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).as("%s: %s", path, answer.body()).isEqualTo(200);
        return JSON.readTree(answer.body());
    }

    private static ObjectNode overridden(JsonNode card, String reason) {
        ObjectNode item = JSON.createObjectNode();
        item.put("card", card.get("uuid").asText());
        item.put("outcome", "overridden");
        item.put("outcomeTimestamp", Instant.now().toString());
        ObjectNode overrideReason = item.putObject("overrideReason");
        overrideReason.putObject("reason").put("system", "urn:all-cds:override-reason").put("code", reason);
        return item;
    }

    private static JsonNode card(JsonNode cards, String topic) {
        for (JsonNode card : cards) {
            if (topic.equals(card.at("/source/topic/code").asText())) {
                return card;
            }
        }
        throw new AssertionError("no " + topic + " card in " + cards);
    }

    private static JsonNode topic(JsonNode topics, String topic) {
        for (JsonNode t : topics) {
            if (topic.equals(t.path("topic").asText())) {
                return t;
            }
        }
        throw new AssertionError("no " + topic + " in " + topics);
    }

    private static JsonNode series(JsonNode data, String topic, String outcome) {
        for (JsonNode s : data.at("/daily/series")) {
            if (topic.equals(s.path("topic").asText()) && outcome.equals(s.path("outcome").asText())) {
                return s;
            }
        }
        throw new AssertionError("no " + topic + " " + outcome + " series in " + data.path("daily"));
    }
}
