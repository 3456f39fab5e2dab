package org.allcds.cds.evaluation;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.allcds.cql.PatientRecord;
import org.allcds.cql.ValueSetRepository;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.Test;

/** Days are counted in the configured zone: "today" and every result's date alike (issue 18, item 17). */
class EvaluationTimeZoneTest {

    /** 2026-03-02 01:00 UTC: 10:00 on 2 March in Tokyo, still 1 March 20:00 in New York. */
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-03-02T01:00:00Z"), ZoneOffset.UTC);

    static Map<String, Object> evaluate(String zone, String marrowInstant) {
        FhirContext fhir = FhirContext.forR4Cached();
        CqlEvaluationService service = new CqlEvaluationService(ValueSetRepository.load(fhir, null), fhir,
                new EvaluationSettings(Map.of(), null, ZoneId.of(zone), false), CLOCK);
        Patient patient = new Patient();
        patient.setId("p1");
        Condition all = new Condition();
        all.setId("c1");
        all.setSubject(new Reference("Patient/p1"));
        all.setCode(new CodeableConcept(new Coding("http://snomed.info/sct", "91857003", null)));
        all.setOnset(new DateTimeType("2025-12-01"));
        Observation marrow = new Observation();
        marrow.setId("o1");
        marrow.setStatus(Observation.ObservationStatus.FINAL);
        marrow.setSubject(new Reference("Patient/p1"));
        marrow.setCode(new CodeableConcept(new Coding("http://loinc.org", "11150-0", null)));
        marrow.setEffective(new DateTimeType(marrowInstant));
        marrow.setValue(new Quantity().setValue(new BigDecimal("2")).setSystem("http://unitsofmeasure.org").setCode("%"));
        return service.evaluate("ALLCommon", Set.of("Last Marrow Aspiration Date", "Unreadable Results"),
                PatientRecord.of(patient, List.of(all, marrow)));
    }

    @Test
    void anInstantIsDatedInTheConfiguredZone() {
        // 2026-03-01T20:00Z is 2 March in Tokyo (today there), 1 March in UTC
        assertThat(evaluate("Asia/Tokyo", "2026-03-01T20:00:00Z").get("Last Marrow Aspiration Date")).hasToString("2026-03-02");
        assertThat(evaluate("UTC", "2026-03-01T20:00:00Z").get("Last Marrow Aspiration Date")).hasToString("2026-03-01");
    }

    @Test
    void aResultOfTodayInTheZoneIsNotInTheFuture() {
        // 06:00 on 2 March in Tokyo is today there; with the result's own offset it was "tomorrow" in New York
        Map<String, Object> tokyo = evaluate("Asia/Tokyo", "2026-03-02T06:00:00+09:00");
        assertThat(tokyo.get("Last Marrow Aspiration Date")).hasToString("2026-03-02");
        assertThat((List<?>) tokyo.get("Unreadable Results")).isEmpty();
        Map<String, Object> newYork = evaluate("America/New_York", "2026-03-02T06:00:00+09:00");
        assertThat(newYork.get("Last Marrow Aspiration Date")).hasToString("2026-03-01");
        assertThat((List<?>) newYork.get("Unreadable Results")).isEmpty();
    }
}
