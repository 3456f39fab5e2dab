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
import org.allcds.fixtures.Fixture;
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
 * Bad input through the whole service in-process (test profile: auth off, as FixtureReplayTest, so the
 * Spring context is shared). Each valid request is built from a fixture with the fixture module's API.
 */
@SpringBootTest
@AutoConfigureMockMvc
@ActiveProfiles("test")
class BadInputTest {

    static final LocalDate TODAY = LocalDate.now(ZoneOffset.UTC);

    @Autowired
    MockMvc mvc;

    private final ObjectMapper json = new ObjectMapper();

    record Answer(int status, JsonNode body) {
        String error() {
            return body.path("error").asText();
        }

        List<String> topics() {
            List<String> t = new ArrayList<>();
            body.path("cards").forEach(c -> t.add(c.path("source").path("topic").path("code").asText()));
            return t;
        }

        Set<String> evidence() {
            Set<String> e = new HashSet<>();
            body.path("cards").forEach(c -> c.path("extension").path("all-cds").path("evidence").forEach(r -> e.add(r.asText())));
            return e;
        }
    }

    private static Fixture fixture(String scenario) {
        return FixtureCatalog.find(scenario).orElseThrow();
    }

    private static ObjectNode request(String scenario) {
        return HookRequests.withPrefetch(fixture(scenario), TODAY);
    }

    private Answer send(String service, byte[] body, MediaType type) throws Exception {
        MvcResult r = mvc.perform(post("/cds-services/" + service).contentType(type).content(body)).andReturn();
        String text = r.getResponse().getContentAsString(StandardCharsets.UTF_8);
        assertThat(text).doesNotContain("\tat ").doesNotContain("Exception");
        return new Answer(r.getResponse().getStatus(), text.isEmpty() ? json.createObjectNode() : json.readTree(text));
    }

    private Answer send(String service, JsonNode body) throws Exception {
        return send(service, json.writeValueAsBytes(body), MediaType.APPLICATION_JSON);
    }

    private Answer send(String service, String body) throws Exception {
        return send(service, body.getBytes(StandardCharsets.UTF_8), MediaType.APPLICATION_JSON);
    }

    private static void assertError(Answer a, int status, String code) {
        assertThat(a.status()).as(a.body().toString()).isEqualTo(status);
        assertThat(a.error()).isEqualTo(code);
        assertThat(a.body().path("status").asInt()).isEqualTo(status);
        assertThat(a.body().path("message").asText()).isNotBlank();
        assertThat(a.body().has("cards")).isFalse();
    }

    /** The request's latest Observation whose value is in 10*3/uL (a platelet or WBC count). */
    static ObjectNode latestCountIn10e3PerUL(ObjectNode request) {
        ObjectNode latest = null;
        for (JsonNode e : entries(request, "observations")) {
            ObjectNode res = (ObjectNode) e.path("resource");
            if ("10*3/uL".equals(res.path("valueQuantity").path("code").asText())
                    && (latest == null || res.path("effectiveDateTime").asText().compareTo(latest.path("effectiveDateTime").asText()) > 0)) {
                latest = res;
            }
        }
        assertThat(latest).isNotNull();
        return latest;
    }

    private static ArrayNode entries(ObjectNode request, String key) {
        return (ArrayNode) request.path("prefetch").path(key).path("entry");
    }

    // --- malformed and ill-typed -------------------------------------------------------

    @Test
    void malformedJsonIs400() throws Exception {
        for (String body : List.of("{", "{\"hook\":", "not json", "{\"hook\":\"patient-view\",}", "[1,2", "\u0000",
                "{\"hook\":\"patient-view\",\"hook\":\"order-select\"}")) {
            assertError(send("all-disease-status", body), 400, "malformed-json");
        }
        // bytes after the document: never read as if they were not there
        String valid = json.writeValueAsString(request("late-marrow-relapse"));
        for (String tail : List.of(" garbage", "{}", "\n{\"hook\":\"order-select\"}")) {
            assertError(send("all-disease-status", valid + tail), 400, "malformed-json");
        }
    }

    @Test
    void emptyBodyIs400() throws Exception {
        assertError(send("all-disease-status", new byte[0], MediaType.APPLICATION_JSON), 400, "malformed-json");
    }

    @Test
    void wrongJsonTypesAre400() throws Exception {
        List<java.util.function.Consumer<ObjectNode>> breakages = List.of(
                r -> r.put("hook", 42),
                r -> r.putArray("context"),
                r -> ((ObjectNode) r.get("context")).put("patientId", 7),
                r -> ((ObjectNode) r.get("context")).put("patientId", "../Patient/x"),
                r -> r.put("prefetch", "patient"),
                r -> ((ObjectNode) r.get("prefetch")).put("patient", "Patient/1"),
                r -> ((ObjectNode) r.get("prefetch")).putArray("conditions"),
                r -> r.put("fhirServer", 12),
                r -> r.put("fhirServer", "https://ehr.example.org/fhir").put("fhirAuthorization", "token"),
                r -> r.put("fhirServer", "https://ehr.example.org/fhir").putObject("fhirAuthorization").put("access_token", 5),
                r -> r.remove("hookInstance"),
                r -> ((ObjectNode) r.path("prefetch").path("observations")).put("entry", "none"),
                r -> ((ObjectNode) entries(r, "observations").get(0)).put("resource", "x"),
                r -> ((ObjectNode) entries(r, "observations").get(0).path("resource")).remove("id"));
        int i = 0;
        for (var breakage : breakages) {
            ObjectNode r = request("late-marrow-relapse");
            breakage.accept(r);
            Answer a = send("all-disease-status", r);
            assertThat(a.status()).as("breakage %d: %s", i++, a.body()).isEqualTo(400);
            assertThat(a.error()).isIn("invalid-request", "invalid-resource", "prefetch-wrong-type");
        }
        assertError(send("all-disease-status", "[]"), 400, "invalid-request");
        // an unreadable date inside a result: refused, or flagged as a data problem, never used silently
        for (String[] bad : List.of(new String[] {"effectiveDateTime", "yesterday"}, new String[] {"valueQuantity", "high"})) {
            ObjectNode r = request("late-marrow-relapse");
            ObjectNode first = (ObjectNode) entries(r, "observations").get(0).path("resource");
            first.put(bad[0], bad[1]);
            Answer a = send("all-disease-status", r);
            assertThat(a.status() == 400 || a.topics().contains("data-conflict")).as(a.body().toString()).isTrue();
        }
        assertError(send("all-disease-status", "\"hook\""), 400, "invalid-request");
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        byte[] big = new byte[10 * 1024 * 1024 + 1];
        java.util.Arrays.fill(big, (byte) ' ');
        big[0] = '{';
        big[big.length - 1] = '}';
        assertError(send("all-disease-status", big, MediaType.APPLICATION_JSON), 413, "request-too-large");
    }

    @Test
    void wrongContentTypeIs415() throws Exception {
        byte[] body = json.writeValueAsBytes(request("late-marrow-relapse"));
        assertError(send("all-disease-status", body, MediaType.TEXT_PLAIN), 415, "unsupported-media-type");
        assertError(send("all-disease-status", body, MediaType.APPLICATION_XML), 415, "unsupported-media-type");
        assertError(send("all-disease-status", body, MediaType.APPLICATION_FORM_URLENCODED), 415, "unsupported-media-type");
    }

    @Test
    void unknownServiceIs404() throws Exception {
        assertError(send("no-such-service", request("late-marrow-relapse")), 404, "unknown-service");
    }

    @Test
    void wrongHookForTheServiceIs400() throws Exception {
        assertError(send("all-disease-status", request("order-marrow")), 400, "wrong-hook");
        assertError(send("all-order-followup", request("late-marrow-relapse")), 400, "wrong-hook");
    }

    @Test
    void missingPrefetchWithoutFhirServerIs412() throws Exception {
        ObjectNode r = request("late-marrow-relapse");
        ((ObjectNode) r.get("prefetch")).remove("observations");
        assertError(send("all-disease-status", r), 412, "prefetch-missing");
    }

    // --- wrong content inside well-formed requests --------------------------------------

    @Test
    void prefetchOfTheWrongResourceTypeIs400() throws Exception {
        ObjectNode r = request("late-marrow-relapse");
        ObjectNode prefetch = (ObjectNode) r.get("prefetch");
        prefetch.set("conditions", prefetch.get("observations").deepCopy());
        assertError(send("all-disease-status", r), 400, "prefetch-wrong-type");

        ObjectNode r2 = request("late-marrow-relapse");
        ((ObjectNode) r2.get("prefetch")).set("patient", entries(r2, "conditions").get(0).path("resource").deepCopy());
        assertError(send("all-disease-status", r2), 400, "prefetch-wrong-type");

        ObjectNode r3 = request("late-marrow-relapse");
        ((ObjectNode) r3.get("prefetch")).set("observations", r3.path("prefetch").path("patient").deepCopy());
        assertError(send("all-disease-status", r3), 400, "prefetch-wrong-type");
    }

    @Test
    void anotherPatientsEntriesNeverReachTheCards() throws Exception {
        // the record of a relapsed patient, relabelled as someone else's, slipped into a patient with no cards
        ObjectNode quiet = request("cr-followup-normal");
        String pid = quiet.path("context").path("patientId").asText();
        Answer baseline = send("all-disease-status", quiet);
        assertThat(baseline.status()).isEqualTo(200);

        ObjectNode relapse = request("late-marrow-relapse");
        Set<String> foreign = new HashSet<>();
        for (String key : List.of("conditions", "observations", "procedures")) {
            for (JsonNode e : entries(relapse, key)) {
                ObjectNode res = ((ObjectNode) e.get("resource")).deepCopy();
                res.put("id", "other-" + res.path("id").asText());
                ((ObjectNode) res.path("subject")).put("reference", "Patient/someone-else");
                foreign.add(res.path("resourceType").asText() + "/" + res.path("id").asText());
                entries(quiet, key).addObject().set("resource", res);
            }
        }
        Answer mixed = send("all-disease-status", quiet);
        assertThat(mixed.status()).isEqualTo(200);
        assertThat(mixed.topics()).isEqualTo(baseline.topics());
        assertThat(mixed.evidence()).doesNotContainAnyElementsOf(foreign);
        assertThat(pid).isNotEqualTo("someone-else");

        // and the other way: the relapsed patient keeps exactly its cards with a stranger's entries mixed in
        ObjectNode relapseMixed = request("late-marrow-relapse");
        Answer relapseBaseline = send("all-disease-status", request("late-marrow-relapse"));
        for (JsonNode e : entries(request("cr-followup-normal"), "observations")) {
            ObjectNode res = ((ObjectNode) e.get("resource")).deepCopy();
            res.put("id", "stranger-" + res.path("id").asText());
            ((ObjectNode) res.path("subject")).put("reference", "Patient/stranger");
            entries(relapseMixed, "observations").addObject().set("resource", res);
        }
        Answer a = send("all-disease-status", relapseMixed);
        assertThat(a.topics()).isEqualTo(relapseBaseline.topics());
        assertThat(a.evidence()).noneMatch(ref -> ref.contains("stranger-"));
    }

    @Test
    void identicalDuplicatesAreAccepted() throws Exception {
        Answer baseline = send("all-disease-status", request("late-marrow-relapse"));
        ObjectNode r = request("late-marrow-relapse");
        for (String key : List.of("conditions", "observations", "procedures")) {
            ArrayNode entries = entries(r, key);
            List<JsonNode> copies = new ArrayList<>();
            entries.forEach(e -> copies.add(e.deepCopy()));
            entries.addAll(copies);
        }
        Answer a = send("all-disease-status", r);
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.topics()).isEqualTo(baseline.topics());
        assertThat(a.evidence()).isEqualTo(baseline.evidence());
    }

    @Test
    void conflictingDuplicatesAre400() throws Exception {
        ObjectNode r = request("late-marrow-relapse");
        ArrayNode obs = entries(r, "observations");
        JsonNode withValue = null;
        for (JsonNode e : obs) {
            if (e.path("resource").has("valueQuantity")) {
                withValue = e;
                break;
            }
        }
        assertThat(withValue).isNotNull();
        ObjectNode copy = withValue.deepCopy();
        ObjectNode quantity = (ObjectNode) copy.path("resource").path("valueQuantity");
        quantity.put("value", quantity.path("value").asDouble() + 17);
        obs.add(copy);
        assertError(send("all-disease-status", r), 400, "duplicate-resource");
    }

    @Test
    void anObservationInAnUnknownUnitGivesADataConflictCard() throws Exception {
        Answer unreadable = send("all-disease-status", request("unreadable-unit"));
        assertThat(unreadable.status()).isEqualTo(200);
        assertThat(unreadable.topics()).contains("data-conflict");

        // the same mutation on a quiet record: its latest platelet count in a unit UCUM cannot convert
        ObjectNode r = request("cr-followup-normal");
        ObjectNode latest = latestCountIn10e3PerUL(r);
        ObjectNode q = (ObjectNode) latest.path("valueQuantity");
        q.put("unit", "thou/cmm");
        q.remove("system");
        q.remove("code");
        Answer a = send("all-disease-status", r);
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.topics()).contains("data-conflict");
        assertThat(a.evidence()).contains("Observation/" + latest.path("id").asText());
    }

    /** Partial-precision dates (valid FHIR) are reported as data problems, never a 500. */
    @Test
    void partialDatesDoNotBreakTheService() throws Exception {
        for (String partial : List.of("2024", "2024-02", String.valueOf(TODAY.getYear()))) {
            for (String scenario : List.of("mrd-positive", "late-marrow-relapse", "cr-followup-normal")) {
                ObjectNode r = request(scenario);
                for (JsonNode e : entries(r, "observations")) {
                    ((ObjectNode) e.get("resource")).put("effectiveDateTime", partial);
                }
                Answer a = send("all-disease-status", r);
                assertThat(a.status()).as(scenario + " " + partial + ": " + a.body()).isLessThan(500);
            }
        }
    }

    /** A member with an empty name in a resource (HAPI's parser reads a name's first character) is a 400, not a 500. */
    @Test
    void emptyMemberNameInAResourceIs400() throws Exception {
        for (String where : List.of("resource", "code")) {
            ObjectNode r = request("cr-followup-normal");
            JsonNode first = entries(r, "observations").iterator().next().get("resource");
            ((ObjectNode) ("resource".equals(where) ? first : first.get("code"))).put("", 1);
            Answer a = send("all-disease-status", r);
            assertError(a, 400, "invalid-resource");
        }
    }

    /** An empty unit code is an unreadable unit (data-conflict), never a 500. */
    @Test
    void emptyUnitCodeDoesNotBreakTheService() throws Exception {
        ObjectNode r = request("cr-followup-normal");
        for (JsonNode e : entries(r, "observations")) {
            if (e.path("resource").path("valueQuantity") instanceof ObjectNode q) {
                q.put("unit", "").put("code", "");
            }
        }
        Answer a = send("all-disease-status", r);
        assertThat(a.status()).as(a.body().toString()).isLessThan(500);
    }

    /** Future-dated results the patient's own: the service stays up and cites only what was sent. */
    @Test
    void resultsDatedInTheFutureNeverBreakTheService() throws Exception {
        ObjectNode r = request("late-marrow-relapse");
        Set<String> sent = new HashSet<>();
        for (String key : List.of("conditions", "observations", "procedures")) {
            for (JsonNode e : entries(r, key)) {
                ObjectNode res = (ObjectNode) e.get("resource");
                sent.add(res.path("resourceType").asText() + "/" + res.path("id").asText());
                for (String field : List.of("effectiveDateTime", "onsetDateTime", "performedDateTime", "recordedDate", "issued")) {
                    if (res.has(field)) {
                        res.put(field, TODAY.plusYears(2).toString());
                    }
                }
            }
        }
        Answer a = send("all-disease-status", r);
        assertThat(a.status()).as(a.body().toString()).isIn(200, 400);
        assertThat(sent).containsAll(a.evidence());
    }

    /** A result dated after today is an impossible value: named by data-conflict, never the basis of a clinical card. */
    @Test
    void resultsDatedInTheFutureAreNotTakenAsCurrent() throws Exception {
        // a relapse-range marrow/blood result dated next year must not make a quiet patient "relapsed"
        ObjectNode quiet = request("cr-followup-normal");
        Answer baseline = send("all-disease-status", quiet);
        ObjectNode relapse = request("late-marrow-relapse");
        String pid = quiet.path("context").path("patientId").asText();
        Set<String> future = new HashSet<>();
        for (JsonNode e : entries(relapse, "observations")) {
            ObjectNode res = ((ObjectNode) e.get("resource")).deepCopy();
            res.put("id", "future-" + res.path("id").asText());
            ((ObjectNode) res.path("subject")).put("reference", "Patient/" + pid);
            res.put("effectiveDateTime", TODAY.plusYears(1).toString());
            res.remove("issued");
            future.add("Observation/" + res.path("id").asText());
            entries(quiet, "observations").addObject().set("resource", res);
        }
        Answer a = send("all-disease-status", quiet);
        assertThat(a.status()).as(a.body().toString()).isLessThan(500);
        if (a.status() == 200) {
            List<String> clinical = a.topics().stream().filter(t -> !t.equals("data-conflict")).toList();
            assertThat(clinical).as("future-dated results make no clinical card").isEqualTo(baseline.topics());
            // a future-dated result may only be named as a data problem
            a.body().path("cards").forEach(c -> {
                if (!"data-conflict".equals(c.path("source").path("topic").path("code").asText())) {
                    c.path("extension").path("all-cds").path("evidence").forEach(ref -> assertThat(future).doesNotContain(ref.asText()));
                }
            });
        }
    }
}
