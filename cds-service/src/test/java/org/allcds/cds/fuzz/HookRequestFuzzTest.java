package org.allcds.cds.fuzz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ContainerNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
 * Seeded mutation fuzzing of hook calls, in-process (MockMvc, test profile: auth off). Every fixture
 * request is mutated 1-3 times per call (structure, types, values, references, dates, units, duplicates,
 * raw bytes, markdown and HTML in units, codes and ids) and sent; the service must never answer 5xx, never
 * answer anything but JSON, never return a card whose {@code extension.all-cds.evidence} names a resource
 * that is not in the request as one of the hook patient's own (its subject exactly {@code Patient/{id}} or
 * {@code {fhirServer}/Patient/{id}}), and never show request text as markdown or HTML in a card.
 *
 * <p>{@code -Dfuzz.requests=N} (default 10,000) and {@code -Dfuzz.seed=S} (default fixed, so a failure
 * replays exactly; the failing seed and request are printed).
 */
@SpringBootTest
@AutoConfigureMockMvc
@ActiveProfiles("test")
class HookRequestFuzzTest {

    private static final int REQUESTS = Integer.getInteger("fuzz.requests", 10_000);
    private static final long SEED = Long.getLong("fuzz.seed", 20261125L);
    /** Partial-precision dates ("2024", "2024-02"): in the mutation set; -Dfuzz.partialDates=false leaves them out. */
    private static final boolean PARTIAL_DATES = !"false".equals(System.getProperty("fuzz.partialDates"));
    /** Empty unit codes: in the mutation set; -Dfuzz.emptyUnits=false leaves them out. */
    private static final boolean EMPTY_UNITS = !"false".equals(System.getProperty("fuzz.emptyUnits"));
    private static final LocalDate TODAY = LocalDate.now(ZoneOffset.UTC);
    /** Markdown and HTML an EHR would render if request text reached a card raw. */
    private static final String MARKUP = "mg\n# Heading [x](javascript:alert(1)) <img src=x onerror=alert(1)>";

    @Autowired
    MockMvc mvc;

    /** How many mutated requests are sent. */
    int requests() {
        return REQUESTS;
    }

    private final ObjectMapper json = new ObjectMapper();
    private final JsonNodeFactory nodes = JsonNodeFactory.instance;

    @Test
    void mutatedRequestsNeverCauseA5xxOrForeignEvidence() throws Exception {
        List<Fixture> fixtures = FixtureCatalog.load();
        List<ObjectNode> seeds = new ArrayList<>();
        List<String> services = new ArrayList<>();
        for (Fixture f : fixtures) {
            seeds.add(HookRequests.withPrefetch(f, TODAY));
            services.add(f.service());
        }
        Map<Integer, Integer> statuses = new java.util.concurrent.ConcurrentSkipListMap<>();
        java.util.concurrent.atomic.AtomicInteger cards = new java.util.concurrent.atomic.AtomicInteger();
        java.util.Queue<String> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
        int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        long start = System.nanoTime();
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (int i = 0; i < requests(); i++) {
                int n = i;
                done.add(pool.submit(() -> {
                    if (failures.size() < 5) {
                        String failure = oneRequest(n, fixtures, seeds, services, statuses, cards);
                        if (failure != null) {
                            failures.add(failure);
                        }
                    }
                    return null;
                }));
            }
            for (var f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        int sent = statuses.values().stream().mapToInt(Integer::intValue).sum();
        System.out.printf("fuzz: %d requests in %d ms (%.0f/s, %d threads), seed %d, statuses %s, cards checked %d%n",
                sent, ms, sent * 1000.0 / Math.max(1, ms), threads, SEED, statuses, cards.get());
        assertThat(failures).as("failures (each replays alone with its request seed)").isEmpty();
        assertThat(sent).isEqualTo(requests());
        assertThat(statuses.getOrDefault(200, 0)).as("some mutated requests must still be valid").isPositive();
    }

    /** One mutated request, reproducible from (SEED, n) alone; returns a failure description or null. */
    private String oneRequest(int n, List<Fixture> fixtures, List<ObjectNode> seeds, List<String> services,
            Map<Integer, Integer> statuses, java.util.concurrent.atomic.AtomicInteger cards) throws Exception {
        Random random = new Random(SEED * 1_000_003L + n);
        int pick = random.nextInt(seeds.size());
        ObjectNode request = seeds.get(pick).deepCopy();
        String service = random.nextInt(50) == 0 ? services.get(random.nextInt(services.size())) : services.get(pick);
        int mutations = 1 + random.nextInt(3);
        List<String> applied = new ArrayList<>();
        for (int m = 0; m < mutations; m++) {
            applied.add(mutate(request, random));
        }
        byte[] body = json.writeValueAsBytes(request);
        if (random.nextInt(12) == 0) {
            body = mutateBytes(body, random);
            applied.add("bytes");
        }
        MvcResult result = mvc.perform(post("/cds-services/" + service).contentType(MediaType.APPLICATION_JSON).content(body))
                .andReturn();
        int status = result.getResponse().getStatus();
        statuses.merge(status, 1, Integer::sum);
        String text = result.getResponse().getContentAsString(StandardCharsets.UTF_8);
        String where = "request " + n + " (seed " + SEED + ", fixture " + fixtures.get(pick).scenario() + ", mutations "
                + applied + "): " + status + " " + abbreviate(text) + "\nbody: " + abbreviate(new String(body, StandardCharsets.UTF_8));
        if (status >= 500) {
            return "5xx: " + where;
        }
        JsonNode answer;
        try {
            answer = json.readTree(text);
        } catch (java.io.IOException e) {
            return "not JSON: " + where;
        }
        if (status == 200) {
            if (!answer.path("cards").isArray()) {
                return "no cards array: " + where;
            }
            Set<String> own = ownResources(request);
            for (JsonNode card : answer.path("cards")) {
                cards.incrementAndGet();
                for (String field : List.of("summary", "detail")) {
                    String unescaped = unescapedMarkup(card.path(field).asText());
                    if (unescaped != null) {
                        return "card " + field + " shows request text as markup (" + unescaped + "): " + where;
                    }
                }
                for (JsonNode ref : card.path("extension").path("all-cds").path("evidence")) {
                    if (!own.contains(ref.asText())) {
                        return "evidence " + ref.asText() + " not among the patient's resources: " + where;
                    }
                }
            }
        } else if (answer.path("error").asText().isBlank() || answer.has("cards")) {
            return "error without an error code, or with cards: " + where;
        }
        return null;
    }

    /**
     * What the mutations put in request text, found unescaped in a card's text: an HTML tag, a link, a heading,
     * a heading started by a line break (the cards' own markdown has none of these); null when none.
     */
    private static String unescapedMarkup(String text) {
        for (String raw : List.of("<img", "<script", "](", "[x]", "\n#", "javascript:", "onerror=")) {
            if (text.contains(raw)) {
                return raw;
            }
        }
        return null;
    }

    /** "Type/id" of every resource in the request (prefetch and draftOrders) that belongs to context.patientId. */
    private static Set<String> ownResources(JsonNode request) {
        Set<String> refs = new HashSet<>();
        JsonNode pidNode = request.path("context").path("patientId");
        if (!pidNode.isTextual()) {
            return refs;
        }
        String pid = pidNode.asText();
        String base = request.path("fhirServer").isTextual() ? request.path("fhirServer").asText().replaceAll("/$", "") : null;
        Set<String> ownSubjects = base == null ? Set.of("Patient/" + pid) : Set.of("Patient/" + pid, base + "/Patient/" + pid);
        List<JsonNode> resources = new ArrayList<>();
        request.path("prefetch").forEach(resources::add);
        resources.add(request.path("context").path("draftOrders"));
        for (JsonNode r : resources) {
            if ("Bundle".equals(r.path("resourceType").asText())) {
                r.path("entry").forEach(e -> add(refs, e.path("resource"), pid, ownSubjects));
            } else {
                add(refs, r, pid, ownSubjects);
            }
        }
        return refs;
    }

    /** The resource's own "Type/id" when its subject is exactly one of {@code ownSubjects} (ids are as written). */
    private static void add(Set<String> refs, JsonNode r, String pid, Set<String> ownSubjects) {
        String type = r.path("resourceType").asText();
        String id = r.path("id").asText();
        boolean own = "Patient".equals(type) ? id.equals(pid) : ownSubjects.contains(r.path("subject").path("reference").asText());
        if (own) {
            refs.add(type + "/" + id);
        }
    }

    // --- mutations ---------------------------------------------------------------------

    private record Slot(ContainerNode<?> parent, String field, int index) {
        JsonNode get() {
            return field != null ? parent.get(field) : parent.get(index);
        }

        void set(JsonNode value) {
            if (field != null) {
                ((ObjectNode) parent).set(field, value);
            } else {
                ((ArrayNode) parent).set(index, value);
            }
        }

        void remove() {
            if (field != null) {
                ((ObjectNode) parent).remove(field);
            } else {
                ((ArrayNode) parent).remove(index);
            }
        }
    }

    private static void slots(JsonNode node, List<Slot> out) {
        if (node instanceof ObjectNode o) {
            for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                out.add(new Slot(o, f, -1));
                slots(o.get(f), out);
            }
        } else if (node instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                out.add(new Slot(a, null, i));
                slots(a.get(i), out);
            }
        }
    }

    private List<ObjectNode> resources(ObjectNode request) {
        List<ObjectNode> out = new ArrayList<>();
        request.path("prefetch").forEach(p -> {
            if (p.path("entry").isArray()) {
                p.path("entry").forEach(e -> {
                    if (e.path("resource") instanceof ObjectNode r) {
                        out.add(r);
                    }
                });
            } else if (p instanceof ObjectNode r) {
                out.add(r);
            }
        });
        request.path("context").path("draftOrders").path("entry").forEach(e -> {
            if (e.path("resource") instanceof ObjectNode r) {
                out.add(r);
            }
        });
        return out;
    }

    private String mutate(ObjectNode request, Random random) {
        List<ObjectNode> resources = resources(request);
        ObjectNode resource = resources.isEmpty() ? null : resources.get(random.nextInt(resources.size()));
        switch (random.nextInt(14)) {
            case 0, 1 -> { // any node: remove
                List<Slot> all = new ArrayList<>();
                slots(request, all);
                all.get(random.nextInt(all.size())).remove();
                return "remove";
            }
            case 2, 3 -> { // any node: replace with a value of another type or an odd value
                List<Slot> all = new ArrayList<>();
                slots(request, all);
                all.get(random.nextInt(all.size())).set(randomValue(random));
                return "replace";
            }
            case 4 -> { // another patient's resource, or one only written to look like this patient's
                if (resource != null && resource.has("subject")) {
                    String pid = request.path("context").path("patientId").asText();
                    resource.putObject("subject").put("reference", pick(random, "Patient/other", "Patient/x", "Patient/",
                            "Patient/fx-other-1", "https://other-hospital.example/fhir/Patient/" + pid, "../Patient/" + pid,
                            "./Patient/" + pid, "Patient/" + pid + "/_history/1", "urn:uuid:" + pid,
                            "https://ehr.example.org/fhir/Patient/" + pid, "https://ehr.example.org/fhir/../Patient/" + pid));
                }
                return "other-patient";
            }
            case 5 -> { // identical or conflicting duplicate
                ArrayNode entries = randomEntries(request, random);
                if (entries != null && !entries.isEmpty()) {
                    JsonNode copy = entries.get(random.nextInt(entries.size())).deepCopy();
                    if (random.nextBoolean() && copy.path("resource") instanceof ObjectNode r) {
                        r.put("status", pick(random, "final", "amended", "preliminary", "cancelled", "entered-in-error"));
                    }
                    entries.add(copy);
                }
                return "duplicate";
            }
            case 6 -> { // dates: future, far past, garbage, partial
                if (resource != null) {
                    String field = pick(random, "effectiveDateTime", "onsetDateTime", "performedDateTime", "birthDate",
                            "recordedDate", "issued", "abatementDateTime");
                    List<String> values = new ArrayList<>(List.of(TODAY.plusDays(1 + random.nextInt(3000)).toString(),
                            "1800-01-01", "2024-13-45", "tomorrow", "", "9999-12-31T23:59:59Z", TODAY.plusYears(1) + "T00:00:00+14:00"));
                    if (PARTIAL_DATES) {
                        values.addAll(List.of("2024", "2024-02"));
                    }
                    resource.put(field, values.get(random.nextInt(values.size())));
                }
                return "date";
            }
            case 7 -> { // units and values
                if (resource != null && resource.has("valueQuantity")) {
                    ObjectNode q = (ObjectNode) resource.get("valueQuantity");
                    switch (random.nextInt(4)) {
                        case 0 -> q.put("unit", pick(random, "thou/cmm", "furlongs", EMPTY_UNITS ? "" : "?", "%%", "10*3/uL", "g/L", "mmol/L",
                                        MARKUP, "mg\n# h", "<script>alert(1)</script>"))
                                .put("code", pick(random, "thou/cmm", "[ft_i]", EMPTY_UNITS ? "" : "?", "10*9/L", "g/L", "/uL", "mg"));
                        case 1 -> q.put("value", pick(random, -1.0, 0.0, 1e308, -1e308, 1e-300, 123456789.0, 100.0001));
                        case 2 -> q.put("value", pick(random, "NaN", "1,5", "Infinity", "", "1e999"));
                        default -> q.remove(pick(random, "value", "unit", "code", "system"));
                    }
                }
                return "unit";
            }
            case 8 -> { // resource type confusion
                if (resource != null) {
                    resource.put("resourceType", pick(random, "Observation", "Condition", "Procedure", "Patient", "Bundle",
                            "ServiceRequest", "OperationOutcome", "Nonsense", ""));
                }
                return "resourceType";
            }
            case 9 -> { // ids
                if (resource != null) {
                    resource.put("id", pick(random, "", "a/b", "../x", "x".repeat(70), "Observation/1/_history/2",
                            "é", "1 2", "<script>", "fx-dup", "../../Patient/x", ".", "..", "x](javascript:alert(1))",
                            "<img src=x onerror=alert(1)>", "#h"));
                }
                return "id";
            }
            case 10 -> { // codes
                if (resource != null && resource.path("code").path("coding").isArray()
                        && !resource.path("code").path("coding").isEmpty()) {
                    ObjectNode coding = (ObjectNode) resource.path("code").path("coding").get(0);
                    switch (random.nextInt(3)) {
                        case 0 -> coding.put("display", MARKUP);
                        case 1 -> ((ObjectNode) resource.path("code")).put("text", MARKUP);
                        default -> coding.put(pick(random, "system", "code"),
                                pick(random, "", "http://loinc.org", "urn:x", "26464-8", "0000-0"));
                    }
                }
                return "code";
            }
            case 11 -> { // the request's own fields
                switch (random.nextInt(5)) {
                    case 0 -> request.put("hook", pick(random, "patient-view", "order-select", "order-sign", "", "PATIENT-VIEW"));
                    case 1 -> ((ObjectNode) request.path("context")).put("patientId", pick(random, "other", "", "a/b", "x".repeat(65), ".", ".."));
                    case 2 -> request.put("fhirServer", pick(random, "http://169.254.169.254/latest", "http://127.0.0.1:1/fhir",
                            "file:///etc/passwd", "https://ehr.example.org/fhir", "not a url"));
                    case 3 -> {
                        if (request.path("prefetch") instanceof ObjectNode p && p.size() > 0) {
                            List<String> keys = new ArrayList<>();
                            p.fieldNames().forEachRemaining(keys::add);
                            String a = keys.get(random.nextInt(keys.size()));
                            String b = keys.get(random.nextInt(keys.size()));
                            JsonNode tmp = p.get(a);
                            p.set(a, p.get(b));
                            p.set(b, tmp);
                        }
                    }
                    default -> ((ObjectNode) request.path("prefetch")).putNull(pick(random, "patient", "observations", "conditions", "procedures"));
                }
                return "request-field";
            }
            case 12 -> { // clinical status / category oddities on Conditions
                if (resource != null) {
                    resource.set(pick(random, "clinicalStatus", "verificationStatus", "category", "status"), randomValue(random));
                }
                return "status";
            }
            default -> { // a stranger's copy of a resource with a new id (must never be cited)
                ArrayNode entries = randomEntries(request, random);
                if (entries != null && !entries.isEmpty() && entries.get(random.nextInt(entries.size())).path("resource") instanceof ObjectNode r) {
                    ObjectNode copy = r.deepCopy();
                    copy.put("id", "stranger-" + random.nextInt(1000));
                    copy.putObject("subject").put("reference", "Patient/stranger");
                    entries.addObject().set("resource", copy);
                }
                return "stranger";
            }
        }
    }

    private ArrayNode randomEntries(ObjectNode request, Random random) {
        List<ArrayNode> lists = new ArrayList<>();
        request.path("prefetch").forEach(p -> {
            if (p.path("entry") instanceof ArrayNode a) {
                lists.add(a);
            }
        });
        return lists.isEmpty() ? null : lists.get(random.nextInt(lists.size()));
    }

    private JsonNode randomValue(Random random) {
        return switch (random.nextInt(12)) {
            case 0 -> nodes.nullNode();
            case 1 -> nodes.booleanNode(random.nextBoolean());
            case 2 -> nodes.numberNode(random.nextInt());
            case 3 -> nodes.numberNode(random.nextDouble() * 1e12 - 5e11);
            case 4 -> nodes.textNode("");
            case 5 -> nodes.textNode("x".repeat(random.nextInt(5000)));
            case 6 -> nodes.textNode("\u0000\uFFFF\uD83D\uDE00'\"<>&%{{context.patientId}}");
            case 7 -> nodes.objectNode();
            case 8 -> nodes.arrayNode();
            case 9 -> nodes.arrayNode().add(nodes.objectNode().put("resourceType", "Observation"));
            case 10 -> nodes.objectNode().put("reference", "Patient/other");
            default -> nodes.numberNode(new java.math.BigDecimal("1e400"));
        };
    }

    private static byte[] mutateBytes(byte[] body, Random random) {
        byte[] out = body.clone();
        switch (random.nextInt(4)) {
            case 0 -> {
                return java.util.Arrays.copyOf(out, random.nextInt(Math.max(1, out.length)));
            }
            case 1 -> out[random.nextInt(out.length)] = (byte) random.nextInt(256);
            case 2 -> out[random.nextInt(out.length)] = (byte) "{}[]\",:\\".charAt(random.nextInt(8));
            default -> {
                for (int k = 0; k < 8; k++) {
                    out[random.nextInt(out.length)] = (byte) random.nextInt(256);
                }
            }
        }
        return out;
    }

    @SafeVarargs
    private static <T> T pick(Random random, T... options) {
        return options[random.nextInt(options.length)];
    }

    private static String abbreviate(String s) {
        return s.length() > 1500 ? s.substring(0, 1500) + "…" : s;
    }
}
