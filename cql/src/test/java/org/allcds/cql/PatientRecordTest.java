package org.allcds.cql;

import static org.allcds.cql.TestRecord.LAB;
import static org.allcds.cql.TestRecord.LOINC;
import static org.allcds.cql.TestRecord.SCT;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.Test;

/** {@link PatientRecord#withAnyCode}: the per-record index of resources by coding key ({@code system|code}). */
class PatientRecordTest {

    private static final String CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";
    private static final String WBC = key(LOINC, TestRecord.WBC), HGB = key(LOINC, TestRecord.HGB),
            PLT = key(LOINC, TestRecord.PLT), LAB_WBC = key(LAB, "WBC"), LABORATORY = key(CATEGORY, "laboratory");

    private static String key(String system, String code) {
        return ValueSetRepository.key(system, code);
    }

    private static Observation obs(String id, Coding... codings) {
        Observation o = new Observation();
        o.setId(id);
        CodeableConcept code = new CodeableConcept();
        for (Coding c : codings) {
            code.addCoding(c);
        }
        o.setCode(code);
        return o;
    }

    private static PatientRecord record(Resource... resources) {
        Patient p = new Patient();
        p.setId("p1");
        return PatientRecord.of(p, List.of(resources));
    }

    /** Keys in the given iteration order, to show the result order does not follow it. */
    private static Set<String> keys(String... keys) {
        return new LinkedHashSet<>(List.of(keys));
    }

    @Test
    void matchesComeBackInRecordOrderWhateverTheKeyOrder() {
        Observation wbc1 = obs("1", new Coding(LOINC, TestRecord.WBC, null));
        Observation hgb = obs("2", new Coding(LOINC, TestRecord.HGB, null));
        Observation plt = obs("3", new Coding(LOINC, TestRecord.PLT, null));
        Observation wbc2 = obs("4", new Coding(LOINC, TestRecord.WBC, null));
        PatientRecord r = record(wbc1, hgb, plt, wbc2);

        assertThat(r.withAnyCode("Observation", "code", keys(PLT, WBC))).containsExactly(wbc1, plt, wbc2);
        assertThat(r.withAnyCode("Observation", "code", keys(WBC, PLT))).containsExactly(wbc1, plt, wbc2);
        assertThat(r.withAnyCode("Observation", "code", keys(WBC))).containsExactly(wbc1, wbc2);
        assertThat(r.withAnyCode("Observation", "code", keys(HGB))).containsExactly(hgb);
    }

    @Test
    void aResourceMatchingSeveralWantedKeysAppearsOnce() {
        Observation both = obs("1", new Coding(LOINC, TestRecord.WBC, null), new Coding(LAB, "WBC", null));
        Observation other = obs("2", new Coding(LOINC, TestRecord.HGB, null));
        PatientRecord r = record(both, other);
        assertThat(r.withAnyCode("Observation", "code", keys(WBC, LAB_WBC))).containsExactly(both);
        assertThat(r.withAnyCode("Observation", "code", keys(LAB_WBC, HGB, WBC))).containsExactly(both, other);
    }

    @Test
    void aResourceWithSeveralCodingsIsFoundByAnyOfThem() {
        Observation o = obs("1", new Coding(LOINC, TestRecord.WBC, null), new Coding(LAB, "WBC", null),
                new Coding(SCT, "767002", null));
        PatientRecord r = record(obs("0", new Coding(LOINC, TestRecord.HGB, null)), o);
        assertThat(r.withAnyCode("Observation", "code", keys(WBC))).containsExactly(o);
        assertThat(r.withAnyCode("Observation", "code", keys(LAB_WBC))).containsExactly(o);
        assertThat(r.withAnyCode("Observation", "code", keys(key(SCT, "767002")))).containsExactly(o);
    }

    @Test
    void keysWithoutMatchAreIgnored() {
        Observation wbc = obs("1", new Coding(LOINC, TestRecord.WBC, null));
        PatientRecord r = record(wbc, obs("2", new Coding(LOINC, TestRecord.HGB, null)));
        assertThat(r.withAnyCode("Observation", "code", keys("urn:x|nothing", WBC, key(LOINC, "0-0"))))
                .containsExactly(wbc);
        assertThat(r.withAnyCode("Observation", "code", keys("urn:x|nothing"))).isEmpty();
        // The code alone, or the system of another code, is not a match.
        assertThat(r.withAnyCode("Observation", "code", keys(TestRecord.WBC, key(LAB, TestRecord.WBC)))).isEmpty();
    }

    @Test
    void noKeysOrNoResourcesOfTheTypeGiveNothing() {
        PatientRecord r = record(obs("1", new Coding(LOINC, TestRecord.WBC, null)));
        assertThat(r.withAnyCode("Observation", "code", Set.of())).isEmpty();
        assertThat(r.withAnyCode("Condition", "code", keys(WBC))).isEmpty();
        assertThat(record().withAnyCode("Observation", "code", keys(WBC))).isEmpty();
    }

    @Test
    void typesAreIndexedSeparately() {
        Observation o = obs("1", new Coding(SCT, "91857003", null));
        Condition c = new Condition().setCode(new CodeableConcept(new Coding(SCT, "91857003", null)));
        c.setId("c1");
        PatientRecord r = record(o, c);
        assertThat(r.withAnyCode("Condition", "code", keys(key(SCT, "91857003")))).containsExactly(c);
        assertThat(r.withAnyCode("Observation", "code", keys(key(SCT, "91857003")))).containsExactly(o);
    }

    @Test
    void codePathsOfOneTypeAreIndexedSeparately() {
        Observation lab = obs("1", new Coding(LOINC, TestRecord.WBC, null));
        lab.addCategory(new CodeableConcept(new Coding(CATEGORY, "laboratory", null)));
        lab.addCategory(new CodeableConcept(new Coding(CATEGORY, "exam", null)));
        Observation exam = obs("2", new Coding(LOINC, TestRecord.HGB, null));
        exam.addCategory(new CodeableConcept(new Coding(CATEGORY, "exam", null)));
        PatientRecord r = record(lab, exam);

        // code first: its index must not answer for category, nor category's for code.
        assertThat(r.withAnyCode("Observation", "code", keys(LABORATORY))).isEmpty();
        assertThat(r.withAnyCode("Observation", "category", keys(LABORATORY))).containsExactly(lab);
        assertThat(r.withAnyCode("Observation", "category", keys(key(CATEGORY, "exam")))).containsExactly(lab, exam);
        assertThat(r.withAnyCode("Observation", "category", keys(WBC))).isEmpty();
        assertThat(r.withAnyCode("Observation", "code", keys(WBC))).containsExactly(lab);
    }

    @Test
    void aCodingPathIsIndexedToo() {
        Encounter inpatient = new Encounter().setClass_(new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP", null));
        inpatient.setId("e1");
        PatientRecord r = record(inpatient);
        assertThat(r.withAnyCode("Encounter", "class", keys(key("http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP"))))
                .containsExactly(inpatient);
    }

    @Test
    void aResourceWithoutTheCodeIsNotMatchedAndAnUnknownPathMatchesNothing() {
        Observation uncoded = new Observation();
        uncoded.setId("0");
        Observation wbc = obs("1", new Coding(LOINC, TestRecord.WBC, null));
        PatientRecord r = record(uncoded, wbc);
        assertThat(r.withAnyCode("Observation", "code", keys(WBC))).containsExactly(wbc);
        assertThat(r.withAnyCode("Observation", "noSuchElement", keys(WBC))).isEmpty();
    }
}
