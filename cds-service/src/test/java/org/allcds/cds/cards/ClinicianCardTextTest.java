package org.allcds.cds.cards;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;
import org.springframework.http.MediaType;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.web.servlet.MockMvc;

/**
 * Issue 22: the cards of every fixture read as a clinician reads them. No LOINC or SNOMED CT display and no
 * resource id in the text, tests named by their clinical names on the order buttons (the orders keep the
 * standard code and display), summaries that start with the finding, a detail that opens with it, sources
 * by name, the remission card's Condition update, and the timeline link on the disease-course cards.
 */
@SpringBootTest
@AutoConfigureMockMvc
@ActiveProfiles("test")
class ClinicianCardTextTest {

    /** The clinical names of the tests a card may propose (issue 22). */
    static final Set<String> CLINICAL_TEST_NAMES = Set.of("Complete blood count with differential", "Peripheral blood smear",
            "Bone marrow aspiration", "Bone marrow biopsy", "Flow cytometry immunophenotyping", "Bone marrow karyotype",
            "BCR-ABL1 (Philadelphia) test", "Lumbar puncture (CSF)", "CSF cell count", "CSF cytology");

    /** How each card's summary starts: with its finding. */
    static final Map<String, Pattern> SUMMARY_STARTS = Map.ofEntries(
            Map.entry("tx-relapse-review", Pattern.compile("(Marrow|CNS|Combined marrow and CNS) relapse \\((early|late|timing unknown), ")),
            Map.entry("dx-relapse-characterization", Pattern.compile("(Marrow|CNS|Combined marrow and CNS) relapse: ")),
            Map.entry("tx-refractory-review", Pattern.compile("Not in remission after induction \\(marrow blasts \\d")),
            Map.entry("tx-mrd-review", Pattern.compile("Measurable residual disease detected in remission")),
            Map.entry("dx-relapse-workup", Pattern.compile("Blood count suggests relapse \\((blasts in blood|low )")),
            Map.entry("dx-induction-response", Pattern.compile("Day \\d+ after ALL diagnosis: ")),
            Map.entry("dx-baseline-workup", Pattern.compile("ALL diagnosed \\d+ days ago: ")),
            Map.entry("dx-remission-monitoring", Pattern.compile("(Last complete blood count \\d+ days ago|No complete blood count on record): ")),
            Map.entry("status-remission", Pattern.compile("Complete remission criteria met")),
            Map.entry("data-conflict", Pattern.compile("Results contradict each other or cannot be read")),
            Map.entry("dx-order-companions", Pattern.compile("Companion tests missing for the bone marrow or CSF exam")));

    /** The cards that link the disease-course timeline. */
    static final Set<String> TIMELINE_TOPICS = Set.of("tx-relapse-review", "tx-refractory-review", "tx-mrd-review",
            "status-remission", "dx-relapse-characterization", "dx-relapse-workup");

    static final Pattern RAW_REFERENCE = Pattern.compile("(Observation|Condition|Procedure|ServiceRequest|Patient)/[A-Za-z0-9\\-.]");
    static final Pattern DATE = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");

    /** system|code -> display of every concept of the service's value sets. */
    static final Map<String, String> STANDARD_DISPLAYS = new HashMap<>();

    @Autowired
    MockMvc mvc;

    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void readValueSets() throws IOException {
        for (Resource r : new PathMatchingResourcePatternResolver().getResources("classpath*:valuesets/*.json")) {
            try (InputStream in = r.getInputStream()) {
                for (JsonNode include : JSON.readTree(in).path("compose").path("include")) {
                    for (JsonNode concept : include.path("concept")) {
                        STANDARD_DISPLAYS.put(include.path("system").asText() + "|" + concept.path("code").asText(),
                                concept.path("display").asText());
                    }
                }
            }
        }
        assertThat(STANDARD_DISPLAYS).containsKey("http://loinc.org|101119-6");
    }

    /** The text as the clinician sees it: markdown escapes and entities undone. */
    static String shown(String markdown) {
        return markdown.replaceAll("\\\\(\\p{Punct})", "$1").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    }

    private JsonNode cards(Fixture f) throws Exception {
        JsonNode request = HookRequests.withPrefetch(f, LocalDate.now(ZoneOffset.UTC));
        byte[] body = mvc.perform(post("/cds-services/" + f.service()).contentType(MediaType.APPLICATION_JSON)
                .content(JSON.writeValueAsBytes(request))).andReturn().getResponse().getContentAsByteArray();
        return JSON.readTree(body).path("cards");
    }

    @Test
    void everyFixturesCardsReadAsAClinicianReadsThem() throws Exception {
        Set<String> topicsSeen = new HashSet<>();
        Set<String> labelsSeen = new HashSet<>();
        for (Fixture f : FixtureCatalog.load()) {
            for (JsonNode card : cards(f)) {
                String topic = card.path("source").path("topic").path("code").asText();
                String where = f.scenario() + " " + topic;
                topicsSeen.add(topic);
                String summary = shown(card.path("summary").asText());
                String detail = shown(card.path("detail").asText());
                for (String text : List.of(summary, detail)) {
                    assertThat(text).as(where).doesNotContainPattern(RAW_REFERENCE).doesNotContainIgnoringCase("seed 0")
                            .doesNotContain("**Evidence**").doesNotContain("(procedure)");
                    for (Map.Entry<String, String> standard : STANDARD_DISPLAYS.entrySet()) {
                        if (standard.getKey().startsWith("http://loinc.org|")) {
                            assertThat(text).as("%s names a LOINC display", where).doesNotContain(standard.getValue());
                        }
                    }
                }
                assertThat(summary).as(where).hasSizeLessThan(140);
                assertThat(SUMMARY_STARTS).as(where).containsKey(topic);
                assertThat(summary).as(where + ": the summary starts with the finding").containsPattern("^" + SUMMARY_STARTS.get(topic).pattern());
                String firstLine = detail.lines().findFirst().orElse("");
                assertThat(firstLine).as(where + ": the detail opens with the finding, in one line").startsWith("**").endsWith("**");
                if (!topic.equals("data-conflict") && !topic.equals("dx-order-companions")) { // a value and its date
                    assertThat(firstLine).as(where).containsPattern("\\d");
                }
                if (!topic.equals("data-conflict") && !topic.equals("evaluation-incomplete")) { // record and service, no source
                    assertThat(detail).as(where + ": sources by name").contains("Sources: ");
                }
                for (JsonNode suggestion : card.path("suggestions")) {
                    String label = suggestion.path("label").asText();
                    labelsSeen.add(label);
                    for (String standardDisplay : STANDARD_DISPLAYS.values()) {
                        assertThat(label).as(where).doesNotContain(standardDisplay);
                    }
                    for (JsonNode action : suggestion.path("actions")) {
                        if (action.path("type").asText().equals("create")) {
                            assertThat(label).as(where).startsWith("Order ");
                            assertThat(CLINICAL_TEST_NAMES).as(where).contains(label.substring("Order ".length()));
                            JsonNode coding = action.path("resource").path("code").path("coding").path(0);
                            assertThat(coding.path("display").asText()).as(where + ": the order keeps the standard display")
                                    .isEqualTo(STANDARD_DISPLAYS.get(coding.path("system").asText() + "|" + coding.path("code").asText()));
                        }
                    }
                }
                if (TIMELINE_TOPICS.contains(topic)) {
                    assertTimelineLink(where, card, detail);
                } else {
                    assertThat(card.path("links").isEmpty()).as(where).isTrue();
                }
            }
        }
        // not vacuous: the fixtures show every card kind this test reads, and order buttons
        assertThat(topicsSeen).containsAll(SUMMARY_STARTS.keySet());
        assertThat(labelsSeen).contains("Order Flow cytometry immunophenotyping", "Order Bone marrow karyotype",
                "Order BCR-ABL1 (Philadelphia) test", "Order Lumbar puncture (CSF)");
    }

    /** A SMART link to the timeline app; appContext holds the dates the card cites, as a JSON object. */
    private static void assertTimelineLink(String where, JsonNode card, String detail) throws IOException {
        assertThat(card.path("links").size()).as(where + " links").isEqualTo(1);
        JsonNode link = card.path("links").path(0);
        assertThat(link.path("type").asText()).isEqualTo("smart");
        assertThat(link.path("label").asText()).isEqualTo("Disease-course timeline");
        assertThat(link.path("url").asText()).isEqualTo("http://localhost:8080/timeline/launch.html");
        JsonNode appContext = JSON.readTree(link.path("appContext").asText());
        assertThat(appContext.isObject()).as(where).isTrue();
        appContext.fieldNames().forEachRemaining(key -> assertThat(key).isIn("remission", "relapse"));
        for (JsonNode date : appContext) {
            assertThat(date.asText()).matches(DATE).as(where + ": the date the card cites");
            assertThat(detail).as(where).contains(date.asText());
        }
        if (where.endsWith("tx-relapse-review") || where.endsWith("dx-relapse-characterization")) {
            assertThat(appContext.has("relapse")).as(where).isTrue();
        }
    }

    @Test
    void theRemissionCardSuggestsTheConditionUpdate() throws Exception {
        Fixture f = FixtureCatalog.find("status-remission").orElseThrow();
        JsonNode request = HookRequests.withPrefetch(f, LocalDate.now(ZoneOffset.UTC));
        JsonNode card = null;
        for (JsonNode c : cards(f)) {
            if (c.path("source").path("topic").path("code").asText().equals("status-remission")) {
                card = c;
            }
        }
        assertThat(card).as("status-remission card").isNotNull();
        JsonNode action = card.path("suggestions").path(0).path("actions").path(0);
        assertThat(action.path("type").asText()).isEqualTo("update");
        JsonNode condition = action.path("resource");
        assertThat(condition.path("resourceType").asText()).isEqualTo("Condition");
        assertThat(condition.path("clinicalStatus").path("coding").path(0).path("code").asText()).isEqualTo("remission");
        assertThat(condition.path("clinicalStatus").path("coding").path(0).path("system").asText())
                .isEqualTo("http://terminology.hl7.org/CodeSystem/condition-clinical");
        String conditionRef = "Condition/" + condition.path("id").asText();
        assertThat(card.path("extension").path("all-cds").path("evidence").toString()).as("the record's ALL Condition")
                .contains(conditionRef);
        assertThat(request.toString()).contains("\"id\":\"" + condition.path("id").asText() + "\"");
        JsonNode appContext = JSON.readTree(card.path("links").path(0).path("appContext").asText());
        assertThat(appContext.path("remission").asText()).matches(DATE);
    }
}
