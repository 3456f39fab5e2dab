package org.allcds.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;

/**
 * A realistic {@code patient-view} request for one long-treated ALL patient with exactly {@code n} resources.
 *
 * <p>The patient is the fixture {@code late-marrow-relapse} (19-year-old, Ph-negative B-ALL diagnosed at 14,
 * first CR 4 years 7 months ago, marrow relapse 4 days ago, so the relapse cards' logic runs). Every added
 * resource is a copy of one of that fixture's own resources (same LOINC/SNOMED/local codes, units, shape),
 * with a new id, a new date and a remission-range value, placed between the CR and 30 days before today:
 * <ul>
 *   <li>a blood draw = the 5 CBC components the rules read (WBC 6690-2, hemoglobin 718-7, platelets 777-3,
 *       ANC 751-8, blood blasts 26446-5) + 2 chemistry labs no rule reads (creatinine 2160-0, ALT 1742-6;
 *       a real {@code category=laboratory} search returns them, and the service skips them unparsed);</li>
 *   <li>every 6th draw also a marrow (aspiration procedure 49401003, marrow blasts 11150-0 at 1 %, MRD
 *       negative) or, alternating, a lumbar puncture (277762005, CSF WBC 26465-5, CSF blasts 26447-3,
 *       CSF cytology negative).</li>
 * </ul>
 * Draws are every 14 days counting back from 30 days ago (N = 300: about the last 1.5 years); when the
 * window since CR (about 4.5 years) cannot hold them at that cadence, they come closer together
 * (N = 3,000: about every 4 days; N = 10,000: daily, as during inpatient phases).
 * For {@code n} below the fixture's size (54), fixture resources no rule needs for the relapse decision
 * (narrative reports, repeat CBCs, the second marrow-sampling code) are left out, newest-unneeded first.
 */
public final class LongTreatedPatient {

    public static final String SCENARIO = "late-marrow-relapse";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Fixture resources that may be left out to reach a small N, in the order they are dropped. */
    private static final List<String> DROPPABLE = List.of(
            "obs-6", "proc-2", "obs-8", "obs-9", "obs-22", "obs-30", "obs-42", "obs-43", "proc-9",
            "obs-24", "obs-25", "obs-26", "obs-27", "obs-28", "obs-31", "obs-32", "obs-33", "obs-34", "obs-35",
            "obs-1", "obs-2", "obs-3", "obs-4", "obs-37", "obs-38", "obs-39");

    private LongTreatedPatient() {}

    public static Fixture fixture() {
        return FixtureCatalog.find(SCENARIO).orElseThrow(() -> new IllegalStateException("no fixture " + SCENARIO));
    }

    /** The resources (Patient first), exactly {@code n} of them. */
    public static List<JsonNode> resources(int n, LocalDate today) {
        Fixture fixture = fixture();
        List<JsonNode> base = new ArrayList<>(fixture.resources(today));
        String pid = fixture.patientId();
        if (n < base.size()) {
            int toDrop = base.size() - n;
            if (toDrop > DROPPABLE.size()) {
                throw new IllegalArgumentException("n must be >= " + (base.size() - DROPPABLE.size()));
            }
            Set<String> drop = Set.copyOf(DROPPABLE.subList(0, toDrop).stream().map(s -> pid + "-" + s).toList());
            base.removeIf(r -> drop.contains(r.path("id").asText()));
            return base;
        }
        Map<String, JsonNode> templates = templates(base);
        List<JsonNode> extra = new ArrayList<>();
        int need = n - base.size();
        LocalDate end = today.minusDays(30);
        LocalDate start = today.minusYears(4).minusMonths(7).plusDays(14); // after the first CR marrow
        long window = end.toEpochDay() - start.toEpochDay();
        double perDraw = 7 + (3 + 4) / 2.0 / 6;
        int draws = (int) Math.ceil(need / perDraw);
        double cadence = Math.min(14.0, (double) window / Math.max(1, draws));
        int counter = 0;
        for (int i = 0; extra.size() < need; i++) {
            LocalDate day = end.minusDays(Math.round(i * cadence));
            if (day.isBefore(start)) {
                day = start; // only reached by rounding; keeps every resource after the CR
            }
            String d = day.toString();
            add(extra, need, copy(templates.get("6690-2"), ++counter, d, 4.0 + (i % 7) * 0.4));
            add(extra, need, copy(templates.get("718-7"), ++counter, d, 11.5 + (i % 5) * 0.5));
            add(extra, need, copy(templates.get("777-3"), ++counter, d, 150 + (i % 9) * 12));
            add(extra, need, copy(templates.get("751-8"), ++counter, d, 1.6 + (i % 6) * 0.3));
            add(extra, need, copy(templates.get("26446-5"), ++counter, d, 0));
            add(extra, need, chemistry(templates.get("6690-2"), ++counter, d, "2160-0",
                    "Creatinine [Mass/volume] in Serum or Plasma", 0.6 + (i % 4) * 0.1, "mg/dL"));
            add(extra, need, chemistry(templates.get("6690-2"), ++counter, d, "1742-6",
                    "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", 20 + (i % 8) * 5, "U/L"));
            if (i % 6 == 5) {
                if ((i / 6) % 2 == 0) {
                    add(extra, need, copy(templates.get("49401003"), ++counter, d, null));
                    add(extra, need, copy(templates.get("11150-0"), ++counter, d, 1 + (i % 3) * 0.5));
                    add(extra, need, copy(templates.get("mrd"), ++counter, d, null));
                } else {
                    add(extra, need, copy(templates.get("277762005"), ++counter, d, null));
                    add(extra, need, copy(templates.get("26465-5"), ++counter, d, 1 + (i % 3)));
                    add(extra, need, copy(templates.get("26447-3"), ++counter, d, 0));
                    add(extra, need, copy(templates.get("csf-cytology"), ++counter, d, null));
                }
            }
        }
        // Searches return history oldest first, as many EHRs do: the added history goes before the fixture's.
        List<JsonNode> out = new ArrayList<>();
        out.add(base.get(0));
        for (int i = extra.size() - 1; i >= 0; i--) {
            out.add(extra.get(i));
        }
        out.addAll(base.subList(1, base.size()));
        return out;
    }

    /** The CDS Hooks request for {@code all-disease-status}, every prefetch key filled. */
    public static ObjectNode request(int n, LocalDate today) {
        Fixture fixture = fixture();
        List<JsonNode> resources = resources(n, today);
        ObjectNode request = JSON.createObjectNode();
        request.put("hookInstance", UUID.nameUUIDFromBytes(("bench-" + n).getBytes()).toString());
        request.put("hook", fixture.hook());
        ObjectNode context = request.putObject("context");
        context.put("userId", HookRequests.USER_ID);
        context.put("patientId", fixture.patientId());
        ObjectNode prefetch = request.putObject("prefetch");
        prefetch.set("patient", resources.get(0));
        prefetch.set("conditions", HookRequests.searchset(resources, "Condition", HookRequests.DEFAULT_FHIR_BASE));
        prefetch.set("observations", HookRequests.searchset(resources, "Observation", HookRequests.DEFAULT_FHIR_BASE));
        prefetch.set("procedures", HookRequests.searchset(resources, "Procedure", HookRequests.DEFAULT_FHIR_BASE));
        return request;
    }

    public static byte[] requestBytes(int n, LocalDate today) {
        try {
            return JSON.writeValueAsBytes(request(n, today));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void add(List<JsonNode> out, int need, JsonNode r) {
        if (out.size() < need) {
            out.add(r);
        }
    }

    /** The first remission-era resource of each code (the diagnosis-era ones carry leukemic values). */
    private static Map<String, JsonNode> templates(List<JsonNode> base) {
        Map<String, JsonNode> byCode = new HashMap<>();
        for (JsonNode r : base) {
            String code = r.path("code").path("coding").path(0).path("code").asText();
            byCode.putIfAbsent(code, r);
            // prefer negative MRD / CSF and remission-era records when both exist
        }
        for (String key : List.of("6690-2", "718-7", "777-3", "751-8", "26446-5", "11150-0", "mrd", "49401003",
                "277762005", "26465-5", "26447-3", "csf-cytology")) {
            if (!byCode.containsKey(key)) {
                throw new IllegalStateException("fixture " + SCENARIO + " has no resource with code " + key);
            }
        }
        return byCode;
    }

    private static JsonNode copy(JsonNode template, int counter, String date, Number value) {
        ObjectNode r = template.deepCopy();
        String type = r.path("resourceType").asText();
        r.put("id", "bench-" + (type.equals("Procedure") ? "proc" : "obs") + "-" + counter);
        if (r.has("effectiveDateTime")) {
            r.put("effectiveDateTime", date);
        }
        if (r.has("performedDateTime")) {
            r.put("performedDateTime", date);
        }
        if (value != null && r.has("valueQuantity")) {
            ((ObjectNode) r.get("valueQuantity")).put("value", new java.math.BigDecimal(value.toString()).stripTrailingZeros());
        }
        if (r.has("valueCodeableConcept")) { // MRD and CSF cytology: negative in remission
            ObjectNode concept = JSON.createObjectNode();
            concept.putArray("coding").addObject().put("system", "http://snomed.info/sct").put("code", "260385009")
                    .put("display", "Negative (qualifier value)");
            concept.put("text", "Negative");
            r.set("valueCodeableConcept", concept);
        }
        return r;
    }

    private static JsonNode chemistry(JsonNode cbcTemplate, int counter, String date, String loinc, String display,
            double value, String unit) {
        ObjectNode r = (ObjectNode) copy(cbcTemplate, counter, date, null);
        ObjectNode coding = JSON.createObjectNode().put("system", "http://loinc.org").put("code", loinc).put("display", display);
        ObjectNode code = JSON.createObjectNode();
        code.putArray("coding").add(coding);
        r.set("code", code);
        ObjectNode q = JSON.createObjectNode();
        q.put("value", new java.math.BigDecimal(Double.toString(value)).setScale(1, java.math.RoundingMode.HALF_UP));
        q.put("unit", unit).put("system", "http://unitsofmeasure.org").put("code", unit);
        r.set("valueQuantity", q);
        return r;
    }
}
