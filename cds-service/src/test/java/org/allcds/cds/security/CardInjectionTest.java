package org.allcds.cds.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.http.MediaType;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.MvcResult;

/**
 * Request text in the cards' markdown, ids that are not FHIR ids, and subjects that only look like the hook
 * patient's, through the whole service in-process (test profile: auth off, the Spring context shared).
 */
@SpringBootTest
@AutoConfigureMockMvc
@ActiveProfiles("test")
class CardInjectionTest {

    static final LocalDate TODAY = LocalDate.now(ZoneOffset.UTC);
    /** Markdown and HTML an EHR would render for the clinician if it reached the detail raw. */
    static final String PAYLOAD = "mg\n# Heading [x](javascript:alert(1)) <img src=x onerror=alert(1)>";

    @Autowired
    MockMvc mvc;

    private final ObjectMapper json = new ObjectMapper();

    private static ObjectNode request(String scenario) {
        return HookRequests.withPrefetch(FixtureCatalog.find(scenario).orElseThrow(), TODAY);
    }

    private static ArrayNode entries(ObjectNode request, String key) {
        return (ArrayNode) request.path("prefetch").path(key).path("entry");
    }

    private JsonNode send(ObjectNode body, int expectedStatus) throws Exception {
        MvcResult r = mvc.perform(post("/cds-services/all-disease-status").contentType(MediaType.APPLICATION_JSON)
                .content(json.writeValueAsBytes(body))).andReturn();
        String text = r.getResponse().getContentAsString(StandardCharsets.UTF_8);
        assertThat(r.getResponse().getStatus()).as(text).isEqualTo(expectedStatus);
        return json.readTree(text);
    }

    /** The summary and detail of every card: what an EHR renders. */
    private static List<String> cardTexts(JsonNode answer) {
        List<String> texts = new ArrayList<>();
        answer.path("cards").forEach(c -> {
            texts.add(c.path("summary").asText());
            texts.add(c.path("detail").asText());
        });
        return texts;
    }

    private static void assertNoRawPayload(List<String> texts) {
        for (String text : texts) {
            assertThat(text).doesNotContain("<img", "onerror=", "](", "[x]", "\n# Heading", "mg\n");
        }
    }

    private static Set<String> evidence(JsonNode answer) {
        Set<String> e = new HashSet<>();
        answer.path("cards").forEach(c -> c.path("extension").path("all-cds").path("evidence").forEach(r -> e.add(r.asText())));
        return e;
    }

    @Test
    void aUnitCarryingMarkdownAndHtmlIsShownAsText() throws Exception {
        ObjectNode r = request("cr-followup-normal");
        ObjectNode latest = BadInputTest.latestCountIn10e3PerUL(r);
        ObjectNode q = (ObjectNode) latest.path("valueQuantity");
        q.put("unit", PAYLOAD);
        q.remove("system");
        q.remove("code");
        JsonNode answer = send(r, 200);
        String detail = String.join("\n", cardTexts(answer));
        assertThat(detail).as("the unit is in a finding, escaped").contains("javascript\\:alert\\(1\\)", "&lt;img");
        assertNoRawPayload(cardTexts(answer));
    }

    @Test
    void aCodeDisplayOrTextCarryingMarkdownAndHtmlIsShownAsText() throws Exception {
        for (String element : List.of("display", "text")) {
            ObjectNode r = request("relapse-suspected");
            String pid = r.path("context").path("patientId").asText();
            ObjectNode symptom = entries(r, "conditions").addObject().putObject("resource");
            symptom.put("resourceType", "Condition").put("id", "cns-symptom-1");
            symptom.putObject("clinicalStatus").putArray("coding").addObject()
                    .put("system", "http://terminology.hl7.org/CodeSystem/condition-clinical").put("code", "active");
            ObjectNode coding = symptom.putObject("code").putArray("coding").addObject()
                    .put("system", "http://snomed.info/sct").put("code", "25064002");
            if (element.equals("display")) {
                coding.put("display", PAYLOAD);
            } else {
                ((ObjectNode) symptom.path("code")).put("text", PAYLOAD);
            }
            symptom.putObject("subject").put("reference", "Patient/" + pid);
            symptom.put("onsetDateTime", TODAY.toString());
            JsonNode answer = send(r, 200);
            assertThat(evidence(answer)).as(element).contains("Condition/cns-symptom-1");
            assertThat(String.join("\n", cardTexts(answer))).as(element).contains("CNS symptom recorded\\: mg \\# Heading");
            assertNoRawPayload(cardTexts(answer));
        }
    }

    @Test
    void aResourceIdThatIsNotAFhirIdIsRefusedNamingItsPlace() throws Exception {
        for (String id : List.of("../../Patient/x", "a/b", "<img src=x onerror=alert(1)>", "a b", "x".repeat(65), ".", "..",
                "Observation/1/_history/2")) {
            ObjectNode r = request("late-marrow-relapse");
            ((ObjectNode) entries(r, "observations").get(2).path("resource")).put("id", id);
            JsonNode answer = send(r, 400);
            assertThat(answer.path("error").asText()).as(id).isEqualTo("invalid-resource");
            assertThat(answer.path("message").asText()).as(id).contains("prefetch 'observations' entry 2").contains("FHIR id")
                    .doesNotContain("<img");
        }
        ObjectNode r = request("late-marrow-relapse");
        String pid = r.path("context").path("patientId").asText();
        ((ObjectNode) r.path("prefetch").path("patient")).put("id", "../../Patient/" + pid);
        JsonNode answer = send(r, 400);
        assertThat(answer.path("error").asText()).isEqualTo("invalid-resource");
        assertThat(answer.path("message").asText()).contains("prefetch 'patient'");
    }

    @Test
    void aPatientIdThatIsNotAFhirIdIsRefusedBeforeAnyFetch() throws Exception {
        for (String pid : List.of(".", "..", "a/b", "x y")) {
            ObjectNode r = request("late-marrow-relapse");
            ((ObjectNode) r.path("context")).put("patientId", pid);
            r.remove("prefetch"); // nothing to read: it would be fetched from fhirServer, with the token
            r.put("fhirServer", "http://127.0.0.1:1/fhir");
            r.putObject("fhirAuthorization").put("access_token", "secret").put("token_type", "Bearer");
            JsonNode answer = send(r, 400);
            assertThat(answer.path("error").asText()).as(pid).isEqualTo("invalid-request");
            assertThat(answer.path("message").asText()).as(pid).contains("context.patientId");
        }
    }

    /**
     * The record of a relapsed patient slipped into a quiet patient's request under subjects that name the quiet
     * patient's id but not as this request's own {@code Patient/{id}}: none of it may reach a card.
     */
    @Test
    void aSubjectThatIsNotExactlyThisPatientsNeverReachesACard() throws Exception {
        ObjectNode quiet = request("cr-followup-normal");
        String pid = quiet.path("context").path("patientId").asText();
        quiet.put("fhirServer", "https://ehr.example.org/fhir/");
        JsonNode baseline = send(quiet, 200);
        List<String> lookalikes = List.of("https://other-hospital.example/fhir/Patient/" + pid, "../Patient/" + pid,
                "./Patient/" + pid, "Patient/" + pid + "/_history/1", "Patient/" + pid + "?x=1", "urn:uuid:" + pid,
                "https://ehr.example.org/fhir/../Patient/" + pid, "https://ehr.example.org/Patient/" + pid,
                "http://ehr.example.org/fhir/Patient/" + pid, "https://ehr.example.org/fhir//Patient/" + pid,
                "https://ehr.example.org/fhir/Patient/" + pid + "/_history/2", "patient/" + pid);
        for (String subject : lookalikes) {
            ObjectNode mixed = quiet.deepCopy();
            Set<String> foreign = new HashSet<>();
            ObjectNode relapse = request("late-marrow-relapse");
            for (String key : List.of("conditions", "observations", "procedures")) {
                for (JsonNode e : entries(relapse, key)) {
                    ObjectNode res = ((ObjectNode) e.get("resource")).deepCopy();
                    res.put("id", "other-" + res.path("id").asText());
                    ((ObjectNode) res.path("subject")).put("reference", subject);
                    foreign.add(res.path("resourceType").asText() + "/" + res.path("id").asText());
                    entries(mixed, key).addObject().set("resource", res);
                }
            }
            JsonNode answer = send(mixed, 200);
            assertThat(evidence(answer)).as(subject).doesNotContainAnyElementsOf(foreign);
            assertThat(answer.path("cards")).as(subject).isEqualTo(withoutUuids(baseline.path("cards"), answer.path("cards")));
        }
    }

    /** On the request's own fhirServer base, an absolute reference to this patient is this patient's. */
    @Test
    void anAbsoluteSubjectOnTheRequestsOwnFhirServerIsThisPatients() throws Exception {
        for (String base : List.of("https://ehr.example.org/fhir", "https://ehr.example.org/fhir/")) {
            ObjectNode r = request("late-marrow-relapse");
            String pid = r.path("context").path("patientId").asText();
            JsonNode baseline = send(r, 200);
            r.put("fhirServer", base);
            for (String key : List.of("conditions", "observations", "procedures")) {
                for (JsonNode e : entries(r, key)) {
                    ((ObjectNode) e.path("resource").path("subject")).put("reference", "https://ehr.example.org/fhir/Patient/" + pid);
                }
            }
            JsonNode answer = send(r, 200);
            assertThat(evidence(answer)).as(base).isNotEmpty().isEqualTo(evidence(baseline));
        }
    }

    /** The cards with the uuids of {@code actual}'s (each card has a fresh uuid), to compare the rest. */
    private static JsonNode withoutUuids(JsonNode expected, JsonNode actual) {
        JsonNode copy = expected.deepCopy();
        for (int i = 0; i < copy.size() && i < actual.size(); i++) {
            ((ObjectNode) copy.get(i)).set("uuid", actual.get(i).path("uuid"));
            JsonNode suggestions = copy.get(i).path("suggestions");
            for (int s = 0; s < suggestions.size(); s++) {
                ((ObjectNode) suggestions.get(s)).set("uuid", actual.get(i).path("suggestions").path(s).path("uuid"));
            }
        }
        return copy;
    }
}
