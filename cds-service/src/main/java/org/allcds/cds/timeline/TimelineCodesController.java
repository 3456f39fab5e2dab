package org.allcds.cds.timeline;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.allcds.cql.ValueSetRepository;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The codes the disease-course timeline (static SMART app under {@code /timeline/}) plots, taken from the value
 * sets the service itself evaluates with (defaults plus any site value sets), so the chart and the cards read the
 * same codes and no code is copied by hand into JavaScript. Built once at start-up: the value sets never change
 * while the service runs.
 *
 * <p>{@code GET /timeline/codes.json}: {@code {"marrowBlasts": ["http://loinc.org|11150-0"], ...}}.
 */
@RestController
public class TimelineCodesController {

    private static final String VALUE_SET_BASE = "http://allcds.org/fhir/ValueSet/";

    /** Timeline series or band name -> the value set id (file name under cql's valuesets/) that defines it. */
    static final Map<String, String> VALUE_SET_BY_KIND = orderedMap(
            "marrowBlasts", "marrow-blasts",
            "anc", "anc",
            "platelets", "platelets",
            "hemoglobin", "hemoglobin",
            "mrd", "mrd",
            "csfWbc", "csf-wbc",
            "csfBlasts", "csf-blasts",
            "csfCytology", "csf-cytology",
            "chemotherapy", "chemotherapy",
            "transplant", "hsct",
            "allCondition", "all-conditions",
            "positiveResult", "positive-result",
            "negativeResult", "negative-result");

    private final Map<String, List<String>> codesByKind;

    public TimelineCodesController(ValueSetRepository valueSets) {
        Map<String, List<String>> codes = new LinkedHashMap<>();
        // members() throws on an unknown url: a renamed value set fails the start-up, not the chart silently.
        VALUE_SET_BY_KIND.forEach((kind, id) -> codes.put(kind,
                List.copyOf(valueSets.members(VALUE_SET_BASE + id).keySet())));
        this.codesByKind = Map.copyOf(codes);
    }

    @GetMapping(path = "/timeline/codes.json", produces = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<Map<String, List<String>>> codes() {
        return ResponseEntity.ok().cacheControl(CacheControl.noCache()).body(codesByKind);
    }

    private static Map<String, String> orderedMap(String... keysAndValues) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }
}
