package org.allcds.cds.fhirdata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.allcds.cds.hooks.HookRequest;
import org.allcds.cds.hooks.HookRequestParser;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.cds.services.ServiceDefinition;
import org.allcds.cql.PatientRecord;
import org.allcds.cql.ValueSetRepository;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.Test;

/**
 * What each prefetch value means in CDS Hooks 2.0 (card-contract.md, "What a prefetch value means"): {@code null}
 * is no data (for the patient, a failed prefetch); an OperationOutcome is a failed prefetch, fetched from fhirServer;
 * a paged Bundle has its remaining pages fetched from fhirServer; without a fhirServer each of those is a 412.
 * And numbers are read as the decimals written, on every read path.
 */
class PrefetchMeaningTest {

    private static final FhirContext FHIR = FhirContext.forR4Cached();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PID = "p1";
    private static final String BASE = "https://ehr.example.org/fhir";
    private static final ValueSetRepository VALUE_SETS = ValueSetRepository.load(FHIR, null);

    private final List<PrefetchKey> service = org.allcds.cds.hooks.HookHandler.prefetchKeys(service());

    /** What the stand-in fhirServer was asked, in order. */
    private final List<String> asked = new ArrayList<>();
    /** Its Observations: returned by a search, and by a next-page link (the second page). */
    private final List<Resource> served = new ArrayList<>();

    private final FhirServerFetcher server = new FhirServerFetcher(FHIR, null, null, null) {
        @Override
        public Call call(FhirServerAccess access) {
            return new Call() {
                @Override
                public Resource read(String relativeUrl) {
                    asked.add("read " + relativeUrl);
                    return new org.hl7.fhir.r4.model.Patient()
                            .setBirthDateElement(new org.hl7.fhir.r4.model.DateType("2005-01-01")).setId(PID);
                }

                @Override
                public List<Resource> search(String relativeUrl) {
                    asked.add("search " + relativeUrl);
                    return relativeUrl.startsWith("Observation") ? served : List.of();
                }

                @Override
                public List<Resource> pagesFrom(String nextUrl) {
                    asked.add("pages " + nextUrl);
                    return served;
                }
            };
        }
    };

    private final PatientDataService data = new PatientDataService(FHIR, PatientDataServiceTest.CODES_READ, server, true);
    private final FhirServerAccess access = new FhirServerAccess(BASE, "token");

    private static ServiceDefinition service() {
        return PatientDataServiceTest.service();
    }

    private static String wbc(String id, String value, String unit) {
        return """
                {"resourceType":"Observation","id":"%s","status":"final",
                 "code":{"coding":[{"system":"http://loinc.org","code":"6690-2"}]},
                 "subject":{"reference":"Patient/%s"},"effectiveDateTime":"2024-01-02",
                 "valueQuantity":{"value":%s,"unit":"%s","system":"http://unitsofmeasure.org","code":"%s"}}"""
                .formatted(id, PID, value, unit, unit);
    }

    private static String bundle(String link, String... resources) {
        StringBuilder b = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"searchset\",");
        if (link != null) {
            b.append("\"link\":[{\"relation\":\"self\",\"url\":\"").append(BASE).append("/Observation?patient=p1\"},")
                    .append("{\"relation\":\"next\",\"url\":\"").append(link).append("\"}],");
        }
        b.append("\"entry\":[");
        for (int i = 0; i < resources.length; i++) {
            b.append(i > 0 ? "," : "").append("{\"resource\":").append(resources[i]).append('}');
        }
        return b.append("]}").toString();
    }

    private static final String PATIENT = "{\"resourceType\":\"Patient\",\"id\":\"" + PID + "\",\"birthDate\":\"2005-01-01\"}";
    private static final String FAILED = """
            {"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"timeout"}]}""";

    /** The prefetch as the service reads it from a request body (each key's JSON text; "null" for JSON null). */
    private static Map<String, JsonNode> prefetch(String patient, String conditions, String observations) {
        return parse(patient, conditions, observations).prefetch();
    }

    private static HookRequest parse(String patient, String conditions, String observations) {
        StringBuilder body = new StringBuilder("{\"hook\":\"patient-view\",\"hookInstance\":\"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea\","
                + "\"context\":{\"patientId\":\"" + PID + "\"},\"prefetch\":{");
        String sep = "";
        for (String[] key : new String[][] {{"patient", patient}, {"conditions", conditions}, {"observations", observations}}) {
            if (key[1] != null) {
                body.append(sep).append('"').append(key[0]).append("\":").append(key[1]);
                sep = ",";
            }
        }
        return new HookRequestParser().parse(body.append("}}").toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private RequestProblem refusal(Map<String, JsonNode> prefetch) {
        return catchThrowableOfType(() -> data.load(service, PID, prefetch, null, List.of()), RequestProblem.class);
    }

    private static List<String> ids(PatientRecord record, String type) {
        return record.ofType(type).stream().map(r -> r.getIdElement().getIdPart()).toList();
    }

    @Test
    void nullIsNoDataAndCardsAreBuiltWithoutAFhirServer() {
        PatientRecord record = data.load(service, PID, prefetch(PATIENT, "null", bundle(null, wbc("o1", "4.5", "10*3/uL"))),
                null, List.of());
        assertThat(ids(record, "Condition")).isEmpty();
        assertThat(ids(record, "Observation")).containsExactly("o1");
        assertThat(asked).isEmpty();
    }

    @Test
    void aNullPatientIsAFailedPrefetch() {
        RequestProblem p = refusal(prefetch("null", bundle(null), bundle(null)));
        assertThat(p.status().value()).isEqualTo(412);
        assertThat(p.code()).isEqualTo("prefetch-missing");
        assertThat(p.getMessage()).contains("patient");

        PatientRecord record = data.load(service, PID, prefetch("null", bundle(null), bundle(null)), access, List.of());
        assertThat(record.patientId()).isEqualTo(PID);
        assertThat(asked).containsExactly("read Patient/" + PID);
    }

    @Test
    void anOperationOutcomeIsAFailedPrefetchFetchedFromFhirServer() {
        served.add(read(wbc("o9", "5.0", "10*3/uL")));
        String onlyOutcomes = "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[{\"resource\":" + FAILED + "}]}";
        for (String failed : List.of(FAILED, onlyOutcomes)) {
            asked.clear();
            RequestProblem p = refusal(prefetch(PATIENT, bundle(null), failed));
            assertThat(p.status().value()).as(failed).isEqualTo(412);
            assertThat(p.getMessage()).contains("observations");

            PatientRecord record = data.load(service, PID, prefetch(PATIENT, bundle(null), failed), access, List.of());
            assertThat(ids(record, "Observation")).containsExactly("o9");
            assertThat(asked).containsExactly("search Observation?patient=" + PID);
        }
    }

    @Test
    void aFailedPatientPrefetchIsFetchedToo() {
        PatientRecord record = data.load(service, PID, prefetch(FAILED, bundle(null), bundle(null)), access, List.of());
        assertThat(record.patientId()).isEqualTo(PID);
        assertThat(asked).containsExactly("read Patient/" + PID);
    }

    @Test
    void aPagedBundleHasItsRemainingPagesFetchedNeverOnlyItsFirstPage() {
        String next = BASE + "?_getpages=abc&_getpagesoffset=2";
        String firstPage = bundle(next, wbc("o1", "4.5", "10*3/uL"), wbc("o2", "4.6", "10*3/uL"));
        RequestProblem p = refusal(prefetch(PATIENT, bundle(null), firstPage));
        assertThat(p.status().value()).isEqualTo(412);
        assertThat(p.getMessage()).contains("observations");

        served.add(read(wbc("o3", "4.7", "10*3/uL")));
        served.add(read(wbc("o2", "4.6", "10*3/uL"))); // on both pages, the same: kept once
        PatientRecord record = data.load(service, PID, prefetch(PATIENT, bundle(null), firstPage), access, List.of());
        assertThat(ids(record, "Observation")).containsExactly("o1", "o2", "o3");
        assertThat(asked).containsExactly("pages " + next);

        served.set(1, read(wbc("o2", "9.9", "10*3/uL"))); // on both pages, different: which is true cannot be decided
        RequestProblem twice = catchThrowableOfType(() -> data.load(service, PID, prefetch(PATIENT, bundle(null), firstPage),
                access, List.of()), RequestProblem.class);
        assertThat(twice.code()).isEqualTo("duplicate-resource");
    }

    @Test
    void aNextLinkOffTheFhirServerIsNotFollowedTheKeyIsFetchedWhole() {
        String firstPage = bundle("https://elsewhere.example/fhir?page=2", wbc("o1", "4.5", "10*3/uL"));
        served.add(read(wbc("o1", "4.5", "10*3/uL")));
        served.add(read(wbc("o3", "4.7", "10*3/uL")));
        PatientRecord record = data.load(service, PID, prefetch(PATIENT, bundle(null), firstPage), access, List.of());
        assertThat(ids(record, "Observation")).containsExactly("o1", "o3");
        assertThat(asked).containsExactly("search Observation?patient=" + PID);
    }

    /** An Observation as HAPI's parser reads it (what the fhirServer path is given). */
    private static Observation read(String json) {
        return FHIR.newJsonParser().parseResource(Observation.class, json);
    }

    /**
     * A number is the decimal written, read by the direct reader and by HAPI's parser over the request's tree (an
     * entry with an extension), as HAPI's parser reads it from the bytes on the fhirServer path: 250000000000.0 is not the double 2.5E11, which the unit
     * library cannot read.
     */
    @Test
    void numbersReachTheRecordAsTheDecimalsWritten() {
        Map<String, String> written = new LinkedHashMap<>();
        written.put("250000000000.0", "250000000000.0");
        written.put("0.00010", "0.00010");
        written.put("1e2", "100"); // HAPI's parser gives the plain form of an exponent
        written.put("4.5E-1", "0.45");
        written.put("62", "62");
        PatientDataService noFetcher = new PatientDataService(FHIR, PatientDataServiceTest.CODES_READ, null, true);
        for (Map.Entry<String, String> number : written.entrySet()) {
            String plain = wbc("o1", number.getKey(), "/L");
            String withExtension = plain.replace("\"status\"", "\"extension\":[{\"url\":\"http://x.org/e\",\"valueString\":\"e\"}],\"status\"");
            for (String observation : List.of(plain, withExtension)) {
                BigDecimal byHapi = read(observation).getValueQuantity().getValue();
                assertThat(byHapi).as("HAPI's parser").isEqualTo(new BigDecimal(number.getValue()));
                HookRequest request = parserRequest(new HookRequestParser(), bundle(null, observation));
                PatientRecord record = noFetcher.load(service, PID, request.prefetch(), null, List.of());
                BigDecimal value = ((Observation) record.ofType("Observation").get(0)).getValueQuantity().getValue();
                assertThat(value).as("%s in %s", number.getKey(), observation).isEqualTo(byHapi); // equals: scale too
            }
        }
    }

    private static HookRequest parserRequest(HookRequestParser parser, String observations) {
        String body = "{\"hook\":\"patient-view\",\"hookInstance\":\"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea\","
                + "\"context\":{\"patientId\":\"" + PID + "\"},\"prefetch\":{\"patient\":" + PATIENT
                + ",\"conditions\":" + bundle(null) + ",\"observations\":" + observations + "}}";
        return parser.parse(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
