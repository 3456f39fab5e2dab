package org.allcds.cds.fhirdata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.allcds.cds.hooks.HookRequest;
import org.allcds.cds.hooks.HookHandler;
import org.allcds.cds.hooks.HookRequestParser;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.cds.services.PrefetchDefinition;
import org.allcds.cds.services.ServiceDefinition;
import org.allcds.cql.CqlLogic;
import org.allcds.cql.PatientRecord;
import org.allcds.cql.ValueSetRepository;
import org.junit.jupiter.api.Test;

/**
 * Which problem a prefetch Bundle is refused for when it has several: the answer is the one of "parse
 * every entry, then check them in order": a parse error anywhere in the Bundle wins over a failed check,
 * and among failed checks the first entry's wins, whether the JSON is a tree built here or a parsed request's.
 */
class PatientDataServiceTest {

    private static final FhirContext FHIR = FhirContext.forR4Cached();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PID = "p1";

    private static final ValueSetRepository VALUE_SETS = ValueSetRepository.load(FHIR, null);
    /** The Observation codes the project's CQL retrieves. */
    static final Set<String> CODES_READ = CqlLogic.load(VALUE_SETS, FHIR).observationCodesRead();
    private final PatientDataService data = new PatientDataService(FHIR, CODES_READ, null, true);
    private final List<PrefetchKey> service = HookHandler.prefetchKeys(service());
    private final HookRequestParser parser = new HookRequestParser();

    /** A patient-view service of three prefetch keys (patient, conditions, observations). */
    static ServiceDefinition service() {
        Map<String, PrefetchDefinition> prefetch = new LinkedHashMap<>();
        prefetch.put("patient", new PrefetchDefinition("Patient/{{context.patientId}}", "Patient"));
        prefetch.put("conditions", new PrefetchDefinition("Condition?patient={{context.patientId}}", "Condition"));
        prefetch.put("observations", new PrefetchDefinition("Observation?patient={{context.patientId}}", "Observation"));
        return new ServiceDefinition("test", "patient-view", "t", "d", "lib", null, prefetch, List.of());
    }

    private static String condition(String id, String patient, String code) {
        return """
                {"resourceType":"Condition",%s"subject":{"reference":"Patient/%s"},"code":{"text":"%s"}}"""
                .formatted(id == null ? "" : "\"id\":\"" + id + "\",", patient, code);
    }

    private static String wbc(String id, String patient, String value) {
        return """
                {"resourceType":"Observation","id":"%s","status":"final",
                 "code":{"coding":[{"system":"http://loinc.org","code":"6690-2"}]},
                 "subject":{"reference":"Patient/%s"},"effectiveDateTime":"2024-01-02",
                 "valueQuantity":{"value":%s,"unit":"10*3/uL","system":"http://unitsofmeasure.org","code":"10*3/uL"}}"""
                .formatted(id, patient, value);
    }

    private static JsonNode bundle(String... resources) throws Exception {
        StringBuilder b = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"entry\":[");
        for (int i = 0; i < resources.length; i++) {
            b.append(i > 0 ? "," : "").append("{\"resource\":").append(resources[i]).append('}');
        }
        return JSON.readTree(b.append("]}").toString());
    }

    private Map<String, JsonNode> prefetch(JsonNode conditions, JsonNode observations) throws Exception {
        Map<String, JsonNode> p = new LinkedHashMap<>();
        p.put("patient", JSON.readTree("{\"resourceType\":\"Patient\",\"id\":\"" + PID + "\",\"birthDate\":\"2005-01-01\"}"));
        p.put("conditions", conditions);
        p.put("observations", observations);
        return p;
    }

    /** From a tree and from a parsed request, the Observation Bundle is refused with a message starting so. */
    private void assertBothRefuse(String[] observations, String messageStart) throws Exception {
        assertThat(refusal(data, bundle(), bundle(observations)).getMessage()).startsWith(messageStart);
        HookRequest request = parsedRequest(bundle(), bundle(observations));
        assertThat(catchThrowableOfType(() -> data.load(service, PID, request.prefetch(), null, List.of()),
                RequestProblem.class).getMessage()).startsWith(messageStart);
    }

    /** The whole hook request, parsed as the service parses it. */
    private HookRequest parsedRequest(JsonNode conditions, JsonNode observations) throws Exception {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("hook", "patient-view");
        body.put("hookInstance", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea");
        body.put("context", Map.of("patientId", PID));
        body.put("prefetch", prefetch(conditions, observations));
        return parser.parse(JSON.writeValueAsBytes(body));
    }

    private RequestProblem refusal(JsonNode conditions, JsonNode observations) throws Exception {
        return refusal(data, conditions, observations);
    }

    private RequestProblem refusal(PatientDataService from, JsonNode conditions, JsonNode observations) throws Exception {
        Map<String, JsonNode> prefetch = prefetch(conditions, observations);
        return catchThrowableOfType(() -> from.load(service, PID, prefetch, null, List.of()), RequestProblem.class);
    }

    /**
     * The screen follows what the CQL retrieves: an Observation whose code only a direct-code retrieve names (in
     * no value set) is read; with a CQL that does not retrieve it, it is left out unread.
     */
    @Test
    void anObservationOnlyADirectCodeRetrieveNamesIsRead() throws Exception {
        String sodium = wbc("na1", PID, "140").replace("6690-2", "2951-2");
        assertThat(VALUE_SETS.isKnownCode("http://loinc.org", "2951-2")).as("in no value set").isFalse();
        Map<String, JsonNode> prefetch = prefetch(bundle(condition("c1", PID, "a")), bundle(sodium, wbc("o1", PID, "6")));
        Set<String> readsSodium = new java.util.HashSet<>(CODES_READ);
        readsSodium.add(ValueSetRepository.key("http://loinc.org", "2951-2"));
        for (boolean direct : new boolean[] {true, false}) {
            PatientRecord read = new PatientDataService(FHIR, readsSodium, null, direct).load(service, PID, prefetch, null, List.of());
            assertThat(read.ofType("Observation")).extracting(r -> r.getIdElement().getValue()).containsExactly("na1", "o1");
            PatientRecord screened = new PatientDataService(FHIR, CODES_READ, null, direct).load(service, PID, prefetch, null, List.of());
            assertThat(screened.ofType("Observation")).extracting(r -> r.getIdElement().getValue()).containsExactly("o1");
        }
    }

    @Test
    void aParseErrorLaterInTheBundleWinsOverAnEarlierFailedCheck() throws Exception {
        RequestProblem p = refusal(bundle(condition(null, PID, "no id"), condition("c2", PID, "x").replace(
                "\"code\":{\"text\":\"x\"}", "\"recordedDate\":\"yesterday\"")), bundle());
        assertThat(p.code()).isEqualTo("invalid-resource");
        assertThat(p.getMessage()).startsWith("prefetch 'conditions' entry 1 is not a valid FHIR R4 Condition: ");
    }

    @Test
    void theFirstFailedCheckInEntryOrderWins() throws Exception {
        RequestProblem p = refusal(bundle(condition("c1", PID, "a"), condition("c1", PID, "b"), condition(null, PID, "no id")),
                bundle());
        assertThat(p.code()).isEqualTo("duplicate-resource");
        assertThat(p.getMessage()).isEqualTo("Condition/c1 appears twice with different content; which one is true cannot be decided");

        p = refusal(bundle(condition("c1", PID, "a"), condition(null, PID, "no id"), condition("c1", PID, "b")), bundle());
        assertThat(p.code()).isEqualTo("invalid-resource");
        assertThat(p.getMessage()).isEqualTo("a Condition in prefetch 'conditions' has no id; card evidence must be able to name it");
    }

    @Test
    void aFailedCheckInOneKeyIsReportedBeforeTheNextKeyIsRead() throws Exception {
        RequestProblem p = refusal(bundle(condition(null, PID, "no id")), bundle(wbc("o1", PID, "\"not a number\"")));
        assertThat(p.code()).isEqualTo("invalid-resource");
        assertThat(p.getMessage()).startsWith("a Condition in prefetch 'conditions' has no id");
    }

    @Test
    void otherPatientsEntriesAreDroppedAndIdenticalDuplicatesKeptOnce() throws Exception {
        Map<String, JsonNode> prefetch = prefetch(
                bundle(condition("c1", PID, "a"), condition("c2", "someone-else", "b"), condition("c1", PID, "a")),
                bundle(wbc("o1", PID, "4.5"), wbc("o2", "someone-else", "5"),
                        "{\"resourceType\":\"OperationOutcome\",\"issue\":[]}",
                        wbc("o3", PID, "6").replace("6690-2", "2160-0"))); // a code no rule reads: not parsed
        PatientRecord record = data.load(service, PID, prefetch, null, List.of());
        assertThat(record.patientId()).isEqualTo(PID);
        assertThat(record.ofType("Condition")).extracting(r -> r.getIdElement().getValue()).containsExactly("c1");
        assertThat(record.ofType("Observation")).extracting(r -> r.getIdElement().getValue()).containsExactly("o1");
    }

    /**
     * A parsed request's Bundles give the record read from the same JSON: in order, value by value, with the
     * entries left out (a lab no rule reads, a search's OperationOutcome, another patient's, a duplicate) and
     * the ones HAPI's parser reads (an extension) decided alike.
     */
    @Test
    void aParsedRequestGivesTheRecordReadFromItsJson() throws Exception {
        String[] observations = new String[300];
        for (int i = 0; i < observations.length; i++) {
            observations[i] = switch (i % 10) {
                case 1 -> wbc("o" + i, "someone-else", "3.5");
                case 2 -> wbc("o" + i, PID, "2.5").replace("\"status\"", "\"extension\":[{\"url\":\"http://x.org/e\",\"valueString\":\"e\"}],\"status\"");
                case 3 -> wbc("o" + i, PID, "6").replace("6690-2", "2160-0");
                case 4 -> "{\"resourceType\":\"OperationOutcome\",\"issue\":[]}";
                case 5 -> wbc("o" + (i - 5), PID, (i - 5) % 9 + ".5"); // the same as an earlier entry
                default -> wbc("o" + i, PID, i % 9 + ".5");
            };
        }
        String[] conditions = new String[70];
        for (int i = 0; i < conditions.length; i++) {
            conditions[i] = condition("c" + i, i == 3 ? "someone-else" : PID, "ALL " + i);
        }
        PatientRecord alone = data.load(service, PID, prefetch(bundle(conditions), bundle(observations)), null, List.of());
        HookRequest request = parsedRequest(bundle(conditions), bundle(observations));
        PatientRecord parsed = data.load(service, PID, request.prefetch(), null, List.of());
        for (String type : List.of("Condition", "Observation")) {
            assertThat(parsed.ofType(type)).hasSize(alone.ofType(type).size());
            for (int i = 0; i < alone.ofType(type).size(); i++) {
                assertThat(parsed.ofType(type).get(i).equalsDeep(alone.ofType(type).get(i))).as(type + " " + i).isTrue();
            }
        }
        assertThat(alone.ofType("Observation")).hasSize(300 - 4 * 30);
        assertThat(alone.ofType("Condition")).hasSize(69);
    }

    /** An entry that is not of the key's type is refused at its place. */
    @Test
    void anEntryUnderTheWrongKeyIsRefusedAtItsPlace() throws Exception {
        String[] observations = new String[130];
        for (int i = 0; i < observations.length; i++) {
            observations[i] = wbc("o" + i, PID, "4.5");
        }
        observations[90] = condition("c1", PID, "a plain Condition");
        assertBothRefuse(observations, "prefetch 'observations' entry 90 is a Condition; expected Observation");
        observations[90] = wbc("o90", PID, "4.5").replace("6690-2", "2160-0").replace("Observation", "Procedure");
        assertBothRefuse(observations, "prefetch 'observations' entry 90 is a Procedure; expected Observation");
        String[] conditions = new String[130];
        for (int i = 0; i < conditions.length; i++) {
            conditions[i] = condition("c" + i, PID, "ALL");
        }
        conditions[100] = wbc("o1", PID, "6").replace("6690-2", "2160-0"); // a lab no rule reads, but in the wrong place
        HookRequest request = parsedRequest(bundle(conditions), bundle());
        assertThat(catchThrowableOfType(() -> data.load(service, PID, request.prefetch(), null, List.of()),
                RequestProblem.class).getMessage()).isEqualTo("prefetch 'conditions' entry 100 is a Observation; expected Condition");
    }

    /** The checks after reading (id, patient, duplicates) come after the whole Bundle's parse. */
    @Test
    void inALongBundleAParseErrorAnywhereWinsOverAnEarlierFailedCheck() throws Exception {
        String[] observations = new String[400];
        for (int i = 0; i < observations.length; i++) {
            observations[i] = wbc("o" + i, PID, "4.5");
        }
        observations[10] = wbc("o10", PID, "4.5").replace("\"id\":\"o10\",", ""); // no id
        observations[20] = wbc("o7", PID, "5.5"); // o7 again, different content
        observations[300] = wbc("o300", PID, "\"x\"");
        assertBothRefuse(observations, "prefetch 'observations' entry 300 is not a valid FHIR R4 Observation");
        observations[300] = wbc("o300", PID, "4.5");
        assertBothRefuse(observations, "a Observation in prefetch 'observations' has no id; card evidence must be able to name it");
        observations[10] = wbc("o10", PID, "4.5");
        assertBothRefuse(observations, "Observation/o7 appears twice with different content; which one is true cannot be decided");
    }

    @Test
    void inALongBundleTheFirstEntryThatFailsIsTheOneReported() throws Exception {
        for (int bad : new int[] {0, 15, 16, 17, 200, 399}) {
            String[] observations = new String[400];
            for (int i = 0; i < observations.length; i++) {
                boolean broken = i == bad || i == bad + 1 || (bad < 398 && i == 398);
                observations[i] = wbc("o" + i, PID, broken ? "\"not a number\"" : "4.5");
            }
            for (PatientDataService service : List.of(data)) {
                assertThat(refusal(service, bundle(), bundle(observations)).getMessage())
                        .startsWith("prefetch 'observations' entry " + bad + " is not a valid FHIR R4 Observation");
            }
        }
        // A parse failure before an entry of the wrong type wins; after it, the wrong type wins.
        String[] observations = new String[200];
        for (int i = 0; i < observations.length; i++) {
            observations[i] = wbc("o" + i, PID, i == 150 ? "\"x\"" : "4.5");
        }
        observations[100] = condition("c9", PID, "not an observation");
        assertBothRefuse(observations, "prefetch 'observations' entry 100 is a Condition; expected Observation");
        observations[50] = wbc("o50", PID, "\"x\"");
        assertBothRefuse(observations, "prefetch 'observations' entry 50 is not a valid FHIR R4 Observation");
        // A lab no rule reads is left out unread, broken or not; a search's OperationOutcome too.
        observations[20] = wbc("o20", PID, "\"x\"").replace("6690-2", "2160-0");
        observations[30] = "{\"resourceType\":\"OperationOutcome\",\"issue\":\"not even an array\"}";
        assertBothRefuse(observations, "prefetch 'observations' entry 50 is not a valid FHIR R4 Observation");
    }

    /**
     * An id that is not a FHIR id is refused as the sender wrote it (HAPI's parser would make "../../Patient/x" the
     * plain "x"), naming the key and the entry, on every read path.
     */
    @Test
    void anIdThatIsNotAFhirIdIsRefusedAtItsPlaceOnEveryReadPath() throws Exception {
        for (String id : List.of("../../Patient/x", "a/b", "Observation/o1/_history/2", "<img src=x>", "a b", ".", "..",
                "x".repeat(65))) {
            String[] observations = new String[130];
            for (int i = 0; i < observations.length; i++) {
                observations[i] = wbc(i == 77 ? id : "o" + i, PID, "4.5");
            }
            assertBothRefuse(observations, "prefetch 'observations' entry 77 has an id that is not a FHIR id");
        }
        RequestProblem p = refusal(bundle(condition("../c1", PID, "a")), bundle());
        assertThat(p.code()).isEqualTo("invalid-resource");
        assertThat(p.getMessage()).startsWith("prefetch 'conditions' entry 0 has an id that is not a FHIR id");

        Map<String, JsonNode> prefetch = prefetch(bundle(), bundle());
        prefetch.put("patient", JSON.readTree("{\"resourceType\":\"Patient\",\"id\":\"../../Patient/" + PID + "\"}"));
        p = catchThrowableOfType(() -> data.load(service, PID, prefetch, null, List.of()), RequestProblem.class);
        assertThat(p.getMessage()).startsWith("prefetch 'patient' has an id that is not a FHIR id");
    }

    /**
     * A subject is the hook patient's only as {@code Patient/{id}}, or {@code {fhirServer}/Patient/{id}} on the
     * request's own fhirServer: the rest is dropped, on every read path.
     */
    @Test
    void onlyExactlyThisPatientsSubjectReachesTheRecordOnEveryReadPath() throws Exception {
        String base = "https://ehr.example.org/fhir";
        List<String> own = List.of("Patient/" + PID, base + "/Patient/" + PID);
        List<String> notOwn = List.of("https://other-hospital.example/fhir/Patient/" + PID, "../Patient/" + PID,
                "Patient/" + PID + "/_history/1", "Patient/" + PID + "?x=1", "urn:uuid:" + PID, base + "/../Patient/" + PID,
                base + "//Patient/" + PID, "http://ehr.example.org/fhir/Patient/" + PID, "Patient/someone-else",
                "Group/" + PID, "#" + PID);
        List<String> subjects = new java.util.ArrayList<>(own);
        subjects.addAll(notOwn);
        String[] observations = new String[130];
        for (int i = 0; i < observations.length; i++) {
            observations[i] = wbc("o" + i, "x", "4.5").replace("Patient/x", subjects.get(i % subjects.size()));
        }
        List<String> expected = new java.util.ArrayList<>();
        for (int i = 0; i < observations.length; i++) {
            if (i % subjects.size() < own.size()) {
                expected.add("o" + i);
            }
        }
        for (String fhirServer : List.of(base, base + "/")) {
            FhirServerAccess access = new FhirServerAccess(fhirServer, null);
            for (PatientDataService service : List.of(data)) {
                PatientRecord record = service.load(this.service, PID, prefetch(bundle(), bundle(observations)), access, List.of());
                assertThat(record.ofType("Observation")).extracting(r -> r.getIdElement().getValue()).isEqualTo(expected);
            }
            HookRequest request = parsedRequest(bundle(), bundle(observations));
            PatientRecord parsed = data.load(service, PID, request.prefetch(), access, List.of());
            assertThat(parsed.ofType("Observation")).extracting(r -> r.getIdElement().getValue()).isEqualTo(expected);
        }
        // without a fhirServer, only the relative form is this patient's
        PatientRecord record = data.load(service, PID, prefetch(bundle(), bundle(observations)), null, List.of());
        assertThat(record.ofType("Observation")).extracting(r -> r.getIdElement().getValue())
                .isEqualTo(expected.stream().filter(id -> Integer.parseInt(id.substring(1)) % subjects.size() == 0).toList());
    }

    /**
     * From fhirServer, HAPI's client has made each id plain already: that plain id must be a FHIR id, and a subject
     * is this patient's on the same terms as in a prefetch.
     */
    @Test
    void resourcesFetchedFromFhirServerAreCheckedAsPrefetchedOnes() throws Exception {
        String base = "https://ehr.example.org/fhir/";
        ResourceReader reader = new ResourceReader(FHIR, false);
        java.util.function.Function<String, org.hl7.fhir.r4.model.Resource> observation = json -> {
            try {
                return reader.read(org.hl7.fhir.r4.model.Observation.class, JSON.readTree(json), () -> "x");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        List<org.hl7.fhir.r4.model.Resource> served = new java.util.ArrayList<>(List.of(
                observation.apply(wbc("o1", PID, "4.5")),
                observation.apply(wbc("o2", PID, "4.5").replace("Patient/" + PID, base + "Patient/" + PID)),
                observation.apply(wbc("o3", PID, "4.5").replace("Patient/" + PID, "https://other.example/fhir/Patient/" + PID)),
                observation.apply(wbc("o4", PID, "4.5").replace("Patient/" + PID, "urn:uuid:" + PID))));
        FhirServerFetcher server = new FhirServerFetcher(FHIR, null, null, null) {
            @Override
            public Call call(FhirServerAccess access) {
                return new Call() {
                    @Override
                    public org.hl7.fhir.r4.model.Resource read(String relativeUrl) {
                        return new org.hl7.fhir.r4.model.Patient()
                                .setBirthDateElement(new org.hl7.fhir.r4.model.DateType("2005-01-01")).setId(PID);
                    }

                    @Override
                    public List<org.hl7.fhir.r4.model.Resource> search(String relativeUrl) {
                        return relativeUrl.startsWith("Observation") ? served : List.of();
                    }

                    @Override
                    public List<org.hl7.fhir.r4.model.Resource> pagesFrom(String nextUrl) {
                        throw new AssertionError("no prefetch here is paged");
                    }
                };
            }
        };
        PatientDataService fetching = new PatientDataService(FHIR, CODES_READ, server, true);
        Map<String, JsonNode> nothing = new LinkedHashMap<>();
        FhirServerAccess access = new FhirServerAccess(base, "token");
        PatientRecord record = fetching.load(service, PID, nothing, access, List.of());
        assertThat(record.ofType("Observation")).extracting(r -> r.getIdElement().getValue()).containsExactly("o1", "o2");

        served.get(1).setId("Observation/<img src=x>");
        RequestProblem p = catchThrowableOfType(() -> fetching.load(service, PID, nothing, access, List.of()), RequestProblem.class);
        assertThat(p.code()).isEqualTo("invalid-resource");
        assertThat(p.getMessage()).isEqualTo("prefetch 'observations' entry 1 from fhirServer has an id that is not a FHIR id");
    }
}
