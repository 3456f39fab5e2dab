package org.allcds.cql;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.DateType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Procedure;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.ServiceRequest;

/**
 * Test-data builder: one patient's record as HAPI R4 resources, every date relative to the fixed
 * evaluation date {@link #TODAY}. Codes are the ones in the project's value sets.
 */
final class TestRecord {

    static final LocalDate TODAY = LocalDate.of(2025, 6, 1);
    static final ZonedDateTime NOW = TODAY.atTime(10, 0).atZone(ZoneOffset.UTC);

    static final String LOINC = "http://loinc.org";
    static final String SCT = "http://snomed.info/sct";
    static final String ICD10 = "http://hl7.org/fhir/sid/icd-10-cm";
    static final String ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3";
    static final String LAB = "urn:all-cds:lab";
    static final String CPT = "http://www.ama-assn.org/go/cpt";
    static final String UCUM = "http://unitsofmeasure.org";

    // LOINC codes of the value sets
    static final String WBC = "6690-2", HGB = "718-7", PLT = "777-3", ANC = "751-8", BLOOD_BLASTS = "26446-5",
            MARROW_BLASTS = "11150-0", CSF_BLASTS = "26447-3", CSF_WBC = "26465-5", BCR_ABL = "46434-7",
            KARYOTYPE = "33893-9", IMMUNOPHENOTYPE = "101119-6", CBC_PANEL = "57021-8",
            NEUTROPHILS_PERCENT = "770-8";

    private final Patient patient = new Patient();
    private final List<Resource> resources = new ArrayList<>();
    /** order-select: the references of the orders selected in this call (context.selections). */
    private final List<String> selectedOrders = new ArrayList<>();
    private int seq;

    private TestRecord(LocalDate birthDate) {
        patient.setId("p1");
        if (birthDate != null) {
            patient.setBirthDateElement(new DateType(birthDate.toString()));
        }
    }

    /** A patient who turned {@code years} old 10 days before the evaluation date. */
    static TestRecord aged(int years) {
        return new TestRecord(TODAY.minusYears(years).minusDays(10));
    }

    static LocalDate ago(int days) {
        return TODAY.minusDays(days);
    }

    private String next(String prefix) {
        return prefix + (++seq);
    }

    /** The record's resources (mutable: a case may change what it built). */
    List<Resource> resources() {
        return resources;
    }

    PatientRecord record() {
        return PatientRecord.of(patient, resources);
    }

    /** The same record with its resources in another order (and possibly some listed twice). */
    PatientRecord record(List<Resource> reordered) {
        return PatientRecord.of(patient, reordered);
    }

    // ---------------------------------------------------------------- conditions

    Condition condition(String system, String code, LocalDate onset, String clinicalStatus) {
        Condition c = new Condition();
        c.setId(next("c"));
        c.setSubject(new Reference("Patient/p1"));
        c.setCode(new CodeableConcept(new Coding(system, code, null)));
        if (clinicalStatus != null) {
            c.setClinicalStatus(new CodeableConcept(new Coding(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical", clinicalStatus, null)));
        }
        if (onset != null) {
            c.setOnset(new DateTimeType(onset.toString()));
        }
        resources.add(c);
        return c;
    }

    /** ALL (SNOMED 91857003, lineage not stated), active, diagnosed on {@code onset}. */
    TestRecord all(LocalDate onset) {
        condition(SCT, "91857003", onset, "active");
        return this;
    }

    TestRecord bAll(LocalDate onset) {
        condition(SCT, "277571004", onset, "active");
        return this;
    }

    TestRecord tAll(LocalDate onset) {
        condition(ICDO3, "9837/3", onset, "active");
        return this;
    }

    // ---------------------------------------------------------------- observations

    Observation obs(String code, LocalDate date) {
        return obs(LOINC, code, date);
    }

    Observation obs(String system, String code, LocalDate date) {
        Observation o = new Observation();
        o.setId(next("o"));
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.setSubject(new Reference("Patient/p1"));
        o.setCode(new CodeableConcept(new Coding(system, code, null)));
        o.setEffective(new DateTimeType(date.toString()));
        resources.add(o);
        return o;
    }

    Observation quantity(String code, double value, String ucum, LocalDate date) {
        Observation o = obs(code, date);
        o.setValue(new Quantity().setValue(BigDecimal.valueOf(value)).setUnit(ucum).setSystem(UCUM).setCode(ucum));
        return o;
    }

    /** A quantity whose unit is free text only (no UCUM code). */
    Observation quantityText(String code, double value, String unitText, LocalDate date) {
        Observation o = obs(code, date);
        o.setValue(new Quantity().setValue(BigDecimal.valueOf(value)).setUnit(unitText));
        return o;
    }

    Observation coded(String system, String code, boolean positive, LocalDate date) {
        Observation o = obs(system, code, date);
        o.setValue(new CodeableConcept(positive
                ? new Coding(SCT, "10828004", "Positive (qualifier value)")
                : new Coding(SCT, "260385009", "Negative (qualifier value)")));
        return o;
    }

    static void refRange(Observation o, Double low, Double high, String ucum) {
        Observation.ObservationReferenceRangeComponent r = o.addReferenceRange();
        if (low != null) {
            r.setLow(new org.hl7.fhir.r4.model.SimpleQuantity().setValue(BigDecimal.valueOf(low)).setSystem(UCUM).setCode(ucum).setUnit(ucum));
        }
        if (high != null) {
            r.setHigh(new org.hl7.fhir.r4.model.SimpleQuantity().setValue(BigDecimal.valueOf(high)).setSystem(UCUM).setCode(ucum).setUnit(ucum));
        }
    }

    static void interpretation(Observation o, String v3code) {
        o.addInterpretation(new CodeableConcept(new Coding(
                "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", v3code, null)));
    }

    Observation marrow(double blastsPercent, LocalDate date) {
        return quantity(MARROW_BLASTS, blastsPercent, "%", date);
    }

    /** A CBC on {@code date}: ANC, platelets (x10^9/L) and hemoglobin (g/dL). */
    TestRecord cbc(double anc, double plt, double hgb, LocalDate date) {
        quantity(ANC, anc, "10*9/L", date);
        quantity(PLT, plt, "10*9/L", date);
        quantity(HGB, hgb, "g/dL", date);
        return this;
    }

    /** Neutrophils as a percentage of the leukocytes (LOINC 770-8, automated count). */
    Observation neutrophilPercent(double percent, LocalDate date) {
        return quantity("770-8", percent, "%", date);
    }

    TestRecord normalCbc(LocalDate date) {
        return cbc(2.5, 180, 12.5, date);
    }

    /** A complete remission on {@code date}: marrow 2 % blasts and a normal CBC the same day. */
    TestRecord remission(LocalDate date) {
        marrow(2.0, date);
        return normalCbc(date);
    }

    /** CSF with blasts 20 % and WBC 12/uL (CNS-positive). */
    TestRecord cnsPositive(LocalDate date) {
        quantity(CSF_BLASTS, 20, "%", date);
        quantity(CSF_WBC, 12, "/uL", date);
        return this;
    }

    // ---------------------------------------------------------------- procedures / orders

    Procedure procedure(String sctCode, LocalDate date) {
        Procedure p = new Procedure();
        p.setId(next("pr"));
        p.setStatus(Procedure.ProcedureStatus.COMPLETED);
        p.setSubject(new Reference("Patient/p1"));
        p.setCode(new CodeableConcept(new Coding(SCT, sctCode, null)));
        p.setPerformed(new DateTimeType(date.toString()));
        resources.add(p);
        return p;
    }

    ServiceRequest order(String system, String code, ServiceRequest.ServiceRequestStatus status) {
        ServiceRequest s = new ServiceRequest();
        s.setId(next("sr"));
        s.setStatus(status);
        s.setIntent(ServiceRequest.ServiceRequestIntent.ORDER);
        s.setSubject(new Reference("Patient/p1"));
        s.setCode(new CodeableConcept(new Coding(system, code, null)));
        resources.add(s);
        return s;
    }

    ServiceRequest draft(String system, String code) {
        return order(system, code, ServiceRequest.ServiceRequestStatus.DRAFT);
    }

    /** A draft order the clinician selects in this order-select call (it is in context.selections). */
    ServiceRequest selectedDraft(String system, String code) {
        ServiceRequest s = draft(system, code);
        selectedOrders.add("ServiceRequest/" + s.getIdElement().getIdPart());
        return s;
    }

    // ---------------------------------------------------------------- evaluation

    private static CqlLogic logic;

    static synchronized CqlLogic logic() {
        if (logic == null) {
            logic = CqlLogic.loadDefaults();
        }
        return logic;
    }

    Map<String, Object> eval(String library) {
        return eval(library, Map.of());
    }

    /**
     * Every definition of the library, by the compiled ELM; the engine's interpreter evaluates the same
     * record too and must agree on every definition, so each CQL case also tests the compiled evaluator.
     */
    Map<String, Object> eval(String library, Map<String, Object> parameters) {
        return eval(logic(), library, parameters, NOW);
    }

    /** As {@link #eval(String, Map)}, by the given logic (e.g. one loaded with a site's value sets). */
    Map<String, Object> eval(CqlLogic logic, String library, Map<String, Object> parameters) {
        return eval(logic, library, parameters, NOW);
    }

    /** As {@link #eval(String, Map)}, at another evaluation date-time (its zone is the configured one). */
    Map<String, Object> eval(String library, Map<String, Object> parameters, ZonedDateTime now) {
        return eval(logic(), library, parameters, now);
    }

    private Map<String, Object> eval(CqlLogic logic, String library, Map<String, Object> parameters, ZonedDateTime NOW) {
        assertThat(logic.isCompiled()).as("the project's ELM compiles").isTrue();
        PatientRecord record = record();
        Map<String, Object> compiled = logic.evaluateAll(library, record, parameters, NOW);
        Map<String, Object> engine = logic.evaluateWithEngine(library, logic.definitionNames(library), record,
                parameters, NOW);
        assertThat(compiled).as("compiled ELM vs the engine's interpreter, %s", library).isEqualTo(engine);
        return compiled;
    }

    Map<String, Object> status() {
        return eval("ALLDiseaseStatus");
    }

    Map<String, Object> common() {
        return eval("ALLCommon");
    }

    /** ALLOrderFollowup with this call's selections ({@link #selectedDraft}). */
    Map<String, Object> orders() {
        return orders(logic());
    }

    Map<String, Object> orders(CqlLogic logic) {
        return eval(logic, "ALLOrderFollowup", Map.of("Selected Orders", List.copyOf(selectedOrders)));
    }
}
