package org.allcds.cql;

import static org.allcds.cql.TestRecord.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Unit cases for ALLCommon and ALLDiseaseStatus (clinical-rules.md; seeds 000-004). */
class AllDiseaseStatusTest {

    static final List<String> CARDS = List.of("Baseline Workup", "Induction Response", "Relapse Workup",
            "Relapse Characterization", "Remission Monitoring", "Relapse Review", "Refractory Review", "MRD Review",
            "Remission Status", "Data Conflict");

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> r, String def) {
        return (List<Object>) r.get(def);
    }

    @SuppressWarnings("unchecked")
    static List<String> codes(Map<String, Object> r, String def) {
        return list(r, def).stream().map(t -> (String) ((Map<String, Object>) t).get("code")).toList();
    }

    static String ref(Observation o) {
        return "Observation/" + o.getIdElement().getIdPart();
    }

    static boolean fires(Map<String, Object> r, String card) {
        Object v = r.get(card + " Fires");
        assertThat(v).as(card + " Fires is never null").isNotNull();
        return (Boolean) v;
    }

    /** B-ALL diagnosed 800 days ago, CR on day 40; the caller adds what happens next. */
    static TestRecord inRemission(int age) {
        TestRecord r = TestRecord.aged(age).bAll(ago(800));
        r.remission(ago(760));
        return r;
    }

    // ------------------------------------------------------------------ Has ALL / safety

    @Test
    void nothingFiresWithoutAll() {
        TestRecord r = TestRecord.aged(30);
        r.condition(SCT, "25064002", ago(3), "active"); // headache only
        r.marrow(40, ago(10));
        r.quantity(PLT, 20, "10*9/L", ago(1));
        r.quantityText(HGB, 9, "K/uL", ago(1));
        Map<String, Object> s = r.status();
        assertThat(s.get("Has ALL")).isEqualTo(false);
        for (String card : CARDS) {
            assertThat(fires(s, card)).as(card).isFalse();
            assertThat(list(s, card + " Evidence")).as(card).isEmpty();
            assertThat(list(s, card + " Findings")).as(card).isEmpty();
        }
    }

    @Test
    void allPatientWithNoDataGetsNoReassuringCard() {
        Map<String, Object> s = TestRecord.aged(30).all(ago(400)).status();
        assertThat(s.get("Has ALL")).isEqualTo(true);
        for (String card : CARDS) {
            assertThat(fires(s, card)).as(card).isFalse();
        }
    }

    @Test
    void refutedDiagnosisIsNotAll() {
        TestRecord r = TestRecord.aged(30);
        r.condition(SCT, "91857003", ago(10), "active").setVerificationStatus(new org.hl7.fhir.r4.model.CodeableConcept(
                new org.hl7.fhir.r4.model.Coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "refuted", null)));
        assertThat(r.status().get("Has ALL")).isEqualTo(false);
    }

    @Test
    void icd10AndIcdO3CodesAreAll() {
        assertThat(TestRecord.aged(30).condition(ICD10, "C91.00", ago(5), "active") != null).isTrue();
        TestRecord a = TestRecord.aged(30);
        a.condition(ICD10, "C91.00", ago(5), "active");
        assertThat(a.status().get("Has ALL")).isEqualTo(true);
        TestRecord b = TestRecord.aged(30);
        b.condition(ICDO3, "9835/3", ago(5), "active");
        assertThat(b.status().get("Has ALL")).isEqualTo(true);
        TestRecord c = TestRecord.aged(30);
        c.condition(ICD10, "C92.00", ago(5), "active"); // AML
        assertThat(c.status().get("Has ALL")).isEqualTo(false);
    }

    // ------------------------------------------------------------------ marrow threshold

    @ParameterizedTest(name = "marrow {0} % after CR -> relapse {1}")
    @CsvSource({ "4.9, false", "5.0, true", "12, true" })
    void marrowBlastThreshold(double blasts, boolean relapse) {
        TestRecord r = inRemission(40);
        r.marrow(blasts, ago(5));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Relapse Review")).isEqualTo(relapse);
        assertThat(fires(s, "Relapse Characterization")).isEqualTo(relapse);
        assertThat(s.get("Relapse Site")).isEqualTo(relapse ? "marrow" : null);
    }

    @Test
    void marrowParameterOverrideChangesTheThreshold() {
        TestRecord r = inRemission(40);
        r.marrow(6.0, ago(5));
        assertThat(fires(r.eval("ALLDiseaseStatus", Map.of("Marrow Blast Threshold Percent", new java.math.BigDecimal("10.0"))),
                "Relapse Review")).isFalse();
        assertThat(fires(r.status(), "Relapse Review")).isTrue();
    }

    // ------------------------------------------------------------------ CR and the normal CBC

    @ParameterizedTest(name = "platelets {0} x10^9/L -> CR {1}")
    @CsvSource({ "99, false", "100, true" })
    void plateletBoundaryForRemission(double plt, boolean cr) {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(1.0, ago(20));
        r.cbc(2.0, plt, 12, ago(20));
        r.normalCbc(ago(10));
        Map<String, Object> c = r.common();
        assertThat(c.get("Computed CR Date")).isEqualTo(cr ? ago(20).toString() : null);
        assertThat(fires(r.status(), "Remission Status")).isEqualTo(cr);
    }

    @ParameterizedTest(name = "ANC {0} {1}, platelets {2} {3} -> CR {4}")
    @CsvSource({ "1.0, 10*3/uL, 100, 10*3/uL, true", "1.0, 10*9/L, 100, 10*9/L, true", "0.9, 10*3/uL, 100, 10*3/uL, false",
            "1000, /uL, 100000, /uL, true" })
    void countsAreConvertedWithUcum(double anc, String ancUnit, double plt, String pltUnit, boolean cr) {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(1.0, ago(20));
        r.quantity(ANC, anc, ancUnit, ago(20));
        r.quantity(PLT, plt, pltUnit, ago(20));
        r.quantity(HGB, 12, "g/dL", ago(20));
        assertThat(r.common().get("Computed CR Date")).isEqualTo(cr ? ago(20).toString() : null);
    }

    @ParameterizedTest(name = "hemoglobin {0} {1} -> CR {2}")
    @CsvSource({ "100, g/L, true", "99, g/L, false", "10.0, g/dL, true", "9.9, g/dL, false" })
    void hemoglobinInGramsPerLitre(double hgb, String unit, boolean cr) {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(1.0, ago(20));
        r.quantity(ANC, 2, "10*9/L", ago(20));
        r.quantity(PLT, 150, "10*9/L", ago(20));
        r.quantity(HGB, hgb, unit, ago(20));
        assertThat(r.common().get("Computed CR Date")).isEqualTo(cr ? ago(20).toString() : null);
    }

    @Test
    void hemoglobinReferenceRangeAndInterpretationWin() {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(1.0, ago(20));
        r.quantity(ANC, 2, "10*9/L", ago(20));
        r.quantity(PLT, 150, "10*9/L", ago(20));
        refRange(r.quantity(HGB, 9.5, "g/dL", ago(20)), 9.0, 15.0, "g/dL"); // low by default, normal for this lab
        assertThat(r.common().get("Computed CR Date")).isEqualTo(ago(20).toString());

        TestRecord q = TestRecord.aged(30).all(ago(200));
        q.marrow(1.0, ago(20));
        q.quantity(ANC, 2, "10*9/L", ago(20));
        interpretation(q.quantity(PLT, 150, "10*9/L", ago(20)), "L"); // the lab flags it low
        q.quantity(HGB, 12, "g/dL", ago(20));
        assertThat(q.common().get("Computed CR Date")).isNull();
    }

    @ParameterizedTest(name = "CBC {0} days from the marrow -> CR {1}")
    @CsvSource({ "14, true", "15, false" })
    void cbcMustBeNearTheMarrow(int gap, boolean cr) {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(1.0, ago(50));
        r.normalCbc(ago(50 - gap));
        assertThat(r.common().get("Computed CR Date")).isEqualTo(cr ? ago(50).toString() : null);
    }

    @ParameterizedTest(name = "CBC {0} days before the marrow -> CR {1}")
    @CsvSource({ "14, true", "15, false" })
    void cbcBeforeTheMarrowCountsToo(int gap, boolean cr) {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(1.0, ago(50));
        r.normalCbc(ago(50 + gap));
        assertThat(r.common().get("Computed CR Date")).isEqualTo(cr ? ago(50).toString() : null);
    }

    @Test
    void theCountNearestTheMarrowDecides() {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(1.0, ago(50));
        r.normalCbc(ago(52));                   // 2 days before: normal
        r.cbc(0.5, 180, 12.5, ago(40));       // 10 days after: low, but farther
        assertThat(r.common().get("Computed CR Date")).isEqualTo(ago(50).toString());

        TestRecord q = TestRecord.aged(30).all(ago(200));
        q.marrow(1.0, ago(50));
        q.normalCbc(ago(60));                   // 10 days before: normal, but farther
        q.cbc(0.5, 180, 12.5, ago(49));       // 1 day after: low
        assertThat(q.common().get("Computed CR Date")).isNull();
    }

    @Test
    void equidistantCountsTheEarlierDecides() {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(1.0, ago(50));
        r.cbc(0.5, 180, 12.5, ago(53));       // 3 days before: low
        r.normalCbc(ago(47));                   // 3 days after: normal
        assertThat(r.common().get("Computed CR Date")).isNull();

        TestRecord q = TestRecord.aged(30).all(ago(200));
        q.marrow(1.0, ago(50));
        q.normalCbc(ago(53));                   // 3 days before: normal
        q.cbc(0.5, 180, 12.5, ago(47));       // 3 days after: low
        assertThat(q.common().get("Computed CR Date")).isEqualTo(ago(50).toString());
    }

    @Test
    void bloodBlastsOrCnsDiseasePreventRemission() {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.remission(ago(20));
        r.quantity(BLOOD_BLASTS, 3, "%", ago(20));
        assertThat(r.common().get("Computed CR Date")).isNull();

        TestRecord q = TestRecord.aged(30).all(ago(200));
        q.cnsPositive(ago(25));
        q.remission(ago(20));
        assertThat(q.common().get("Computed CR Date")).isNull();
        q.quantity(CSF_BLASTS, 0, "%", ago(22)); // CSF cleared before the marrow
        q.quantity(CSF_WBC, 1, "/uL", ago(22));
        assertThat(q.common().get("Computed CR Date")).isEqualTo(ago(20).toString());
    }

    @Test
    void bloodBlastsPreventRemissionOnlyInsideTheCbcWindow() {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.remission(ago(50));
        r.quantity(BLOOD_BLASTS, 3, "%", ago(65)); // 15 days before the marrow: outside the 14-day window
        r.quantity(BLOOD_BLASTS, 3, "%", ago(35)); // 15 days after
        assertThat(r.common().get("Computed CR Date")).isEqualTo(ago(50).toString());
        r.quantity(BLOOD_BLASTS, 3, "%", ago(36)); // 14 days after: inside
        assertThat(r.common().get("Computed CR Date")).isNull();
    }

    // ------------------------------------------------------------------ the day of a result

    /** The day "Last Marrow Aspiration Date" gives a marrow blast count dated as {@code dating} says. */
    private static Object marrowDayWhen(java.util.function.Consumer<Observation> dating) {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        dating.accept(r.marrow(1.0, ago(50)));
        return r.common().get("Last Marrow Aspiration Date");
    }

    private static org.hl7.fhir.r4.model.InstantType instant(java.time.LocalDate day) {
        return new org.hl7.fhir.r4.model.InstantType(day + "T08:00:00Z");
    }

    @Test
    void aResultIsDatedByEffectiveElseIssued() {
        assertThat(marrowDayWhen(o -> { })).hasToString(ago(50).toString());
        assertThat(marrowDayWhen(o -> o.setEffective(new org.hl7.fhir.r4.model.Period()
                .setStartElement(new org.hl7.fhir.r4.model.DateTimeType(ago(40).toString())))))
                .hasToString(ago(40).toString());
        assertThat(marrowDayWhen(o -> o.setEffective(instant(ago(30))))).hasToString(ago(30).toString());
        assertThat(marrowDayWhen(o -> o.setEffective(null).setIssuedElement(instant(ago(20)))))
                .hasToString(ago(20).toString());
        // effective[x] without a date of its own (a dateTime carrying only an extension, a Timing): issued decides
        assertThat(marrowDayWhen(o -> o.setEffective(new org.hl7.fhir.r4.model.DateTimeType()).setIssuedElement(instant(ago(10)))))
                .hasToString(ago(10).toString());
        assertThat(marrowDayWhen(o -> o.setEffective(new org.hl7.fhir.r4.model.Timing()
                .addEvent(java.sql.Date.valueOf(ago(60)))).setIssuedElement(instant(ago(5)))))
                .hasToString(ago(5).toString());
        assertThat(marrowDayWhen(o -> o.setEffective(null))).isNull();
    }

    @Test
    void aCodedResultIsReadOnlyWhenItSaysPositiveOrNegative() {
        TestRecord r = TestRecord.aged(30).all(ago(300));
        Observation unknown = r.obs(BCR_ABL, ago(5));
        unknown.setValue(new org.hl7.fhir.r4.model.CodeableConcept(
                new org.hl7.fhir.r4.model.Coding(SCT, "261665006", "Unknown (qualifier value)")));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(list(s, "Data Conflict Evidence")).containsExactly("Observation/" + unknown.getIdElement().getIdPart());
        assertThat(list(s, "Data Conflict Findings").toString()).contains("a coded value cannot be read");
        assertThat(r.common().get("Ph Status")).isEqualTo("unknown");

        TestRecord q = TestRecord.aged(30).all(ago(300));
        Observation flagged = q.obs(BCR_ABL, ago(5));
        flagged.setValue(new org.hl7.fhir.r4.model.CodeableConcept(
                new org.hl7.fhir.r4.model.Coding(SCT, "261665006", "Unknown (qualifier value)")));
        interpretation(flagged, "POS"); // the lab's interpretation says positive
        assertThat(fires(q.status(), "Data Conflict")).isFalse();
        assertThat(q.common().get("Ph Status")).isEqualTo("positive");
    }

    // ------------------------------------------------------------------ data conflict

    @Test
    void unknownUnitIsNeverUsedSilently() {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(1.0, ago(20));
        r.quantity(ANC, 2, "10*9/L", ago(20));
        Observation plt = r.quantityText(PLT, 150, "K/uL", ago(20));
        r.quantity(HGB, 12, "g/dL", ago(20));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(list(s, "Data Conflict Evidence")).containsExactly("Observation/" + plt.getIdElement().getIdPart());
        assertThat(list(s, "Data Conflict Findings").toString()).contains("150", "K/uL", "10*9/L");
        assertThat(r.common().get("Computed CR Date")).isNull(); // the unreadable platelet count is not used
        assertThat(fires(s, "Remission Status")).isFalse();
    }

    @Test
    void marrowDatedInTheFutureIsNotARelapseButAConflict() {
        TestRecord r = inRemission(40);
        Observation future = r.marrow(30, TODAY.plusDays(200));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Relapse Review")).isFalse();
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(list(s, "Data Conflict Evidence")).contains("Observation/" + future.getIdElement().getIdPart());
        assertThat(list(s, "Data Conflict Findings").toString()).contains("dated in the future");
    }

    @Test
    void resultDatedOnlyToTheMonthIsNotUsedButReported() {
        TestRecord r = inRemission(40);
        Observation partial = r.marrow(30, ago(5));
        partial.setEffective(new org.hl7.fhir.r4.model.DateTimeType(TODAY.toString().substring(0, 7)));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Relapse Review")).isFalse();
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(list(s, "Data Conflict Findings").toString()).contains("not dated to the day");
    }

    @Test
    void emptyUnitCodeIsUnreadableNotAnError() {
        TestRecord r = inRemission(40);
        Observation plt = r.quantity(PLT, 150, "10*9/L", ago(3));
        ((org.hl7.fhir.r4.model.Quantity) plt.getValue()).setCode("").setUnit("");
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(list(s, "Data Conflict Evidence")).contains("Observation/" + plt.getIdElement().getIdPart());
    }

    @Test
    void impossibleValueIsAConflict() {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(140, ago(20));
        assertThat(fires(r.status(), "Data Conflict")).isTrue();
    }

    @Test
    void recordSaysRemissionWhileMarrowSaysRelapse() {
        TestRecord r = TestRecord.aged(40).bAll(ago(800));
        r.remission(ago(760));
        r.condition(ICD10, "C91.01", ago(700), "active"); // problem list: in remission
        Observation m = r.marrow(12, ago(5));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(list(s, "Data Conflict Evidence")).contains("Observation/" + m.getIdElement().getIdPart());
        assertThat(list(s, "Data Conflict Findings").toString()).contains("12");
        assertThat(fires(s, "Relapse Review")).isTrue(); // and the card the data support
        assertThat(fires(s, "Remission Monitoring")).isFalse();
    }

    @Test
    void recordSaysRemissionAndMarrowAgreesIsNoConflict() {
        TestRecord r = inRemission(40);
        r.condition(ICD10, "C91.01", ago(700), "active");
        r.marrow(1, ago(5));
        assertThat(fires(r.status(), "Data Conflict")).isFalse();
    }

    @Test
    void lineageConflict() {
        TestRecord r = TestRecord.aged(30).bAll(ago(100));
        r.condition(SCT, "277604002", ago(100), "active");
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(r.common().get("Lineage")).isEqualTo("unknown");
    }

    // ------------------------------------------------------------------ relapse timing / site

    @ParameterizedTest(name = "{0} months from CR -> {1}")
    @CsvSource({ "35, early", "36, late" })
    void earlyVersusLateRelapse(int months, String timing) {
        java.time.LocalDate relapse = ago(5);
        java.time.LocalDate cr = relapse.minusMonths(months);
        TestRecord r = TestRecord.aged(40).bAll(cr.minusDays(40));
        r.remission(cr);
        r.marrow(30, relapse);
        Map<String, Object> s = r.status();
        assertThat(s.get("Relapse Timing")).isEqualTo(timing);
        assertThat(s.get("Months Since Remission")).isEqualTo(months);
        List<String> options = codes(s, "Relapse Review Treatment Options");
        if (timing.equals("early")) {
            assertThat(options.get(0)).isEqualTo("clinical-trial");
            assertThat(options).doesNotContain("reinduction-original-regimen");
        } else {
            assertThat(options).contains("reinduction-original-regimen");
            assertThat(options.get(options.size() - 1)).isEqualTo("clinical-trial");
        }
    }

    @Test
    void relapseIsTimedFromAchievingRemissionNotFromLaterConfirmingMarrows() {
        java.time.LocalDate relapse = ago(5);
        java.time.LocalDate firstCr = relapse.minusMonths(40);
        TestRecord r = TestRecord.aged(40).bAll(firstCr.minusDays(40));
        r.remission(firstCr);
        r.remission(relapse.minusMonths(20)); // end-of-therapy marrow, still in remission
        r.marrow(30, relapse);
        Map<String, Object> s = r.status();
        assertThat(r.common().get("Computed CR Date")).hasToString(firstCr.toString());
        assertThat(s.get("Months Since Remission")).isEqualTo(40);
        assertThat(s.get("Relapse Timing")).isEqualTo("late");
    }

    @Test
    void secondRemissionAfterARelapseStartsANewRemissionEpisode() {
        java.time.LocalDate firstCr = ago(900);
        TestRecord r = TestRecord.aged(40).bAll(firstCr.minusDays(40));
        r.remission(firstCr);
        r.marrow(30, ago(400)); // first relapse
        r.remission(ago(300)); // second remission
        r.remission(ago(100)); // confirming marrow
        Map<String, Object> s = r.status();
        assertThat(r.common().get("Computed CR Date")).hasToString(ago(300).toString());
        assertThat(s.get("Relapse Timing")).isNull();
    }

    @ParameterizedTest(name = "CNS {0} days after the marrow -> {1}")
    @CsvSource({ "30, combined", "0, combined" })
    void combinedRelapseWindow(int gap, String site) {
        TestRecord r = inRemission(40);
        r.marrow(25, ago(40));
        r.cnsPositive(ago(40 - gap));
        Map<String, Object> s = r.status();
        assertThat(s.get("Relapse Site")).isEqualTo(site);
        List<String> options = codes(s, "Relapse Review Treatment Options");
        if (site.equals("combined")) {
            assertThat(options).contains("intrathecal-chemotherapy", "cranial-radiation");
        } else {
            assertThat(options).doesNotContain("intrathecal-chemotherapy", "cranial-radiation");
        }
    }

    @Test
    void isolatedCnsRelapseByCytologyOrBlastsWithWbc() {
        TestRecord r = inRemission(40);
        r.coded(LAB, "csf-cytology", true, ago(10));
        Map<String, Object> s = r.status();
        assertThat(s.get("Relapse Site")).isEqualTo("cns");
        assertThat(codes(s, "Relapse Review Treatment Options")).contains("intrathecal-chemotherapy");

        TestRecord q = inRemission(40); // blasts with CSF WBC 4/uL: below 5/uL, not a CNS relapse
        q.quantity(CSF_BLASTS, 10, "%", ago(10));
        q.quantity(CSF_WBC, 4, "/uL", ago(10));
        assertThat(fires(q.status(), "Relapse Review")).isFalse();
        q.quantity(CSF_WBC, 5, "/uL", ago(10));
        assertThat(fires(q.status(), "Relapse Review")).isTrue();
    }

    @Test
    void csfBlastsNeedAWbcFromTheSameDay() {
        TestRecord r = inRemission(40);
        r.quantity(CSF_BLASTS, 10, "%", ago(10));
        r.quantity(CSF_WBC, 50, "/uL", ago(11)); // the day before: another sample
        assertThat(fires(r.status(), "Relapse Review")).isFalse();
        r.quantity(CSF_WBC, 50, "/uL", ago(10));
        assertThat(fires(r.status(), "Relapse Review")).isTrue();
    }

    @Test
    void recordedRemissionDateIsUsedWhenNoneCanBeComputed() {
        TestRecord r = TestRecord.aged(40).bAll(ago(2000));
        r.condition(ICD10, "C91.01", ago(1500), "active").setRecordedDate(java.sql.Date.valueOf(ago(1500)));
        r.marrow(20, ago(3));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Relapse Review")).isTrue();
        assertThat(s.get("Relapse Timing")).isEqualTo("late");
        assertThat(fires(s, "Data Conflict")).isTrue();
    }

    // ------------------------------------------------------------------ treatment options

    @ParameterizedTest(name = "age {0} B-ALL relapse -> CAR-T {1}")
    @CsvSource({ "25, true", "26, false" })
    void carTAgeLimit(int age, boolean carT) {
        TestRecord r = inRemission(age);
        r.marrow(30, ago(5));
        assertThat(codes(r.status(), "Relapse Review Treatment Options").contains("car-t-tisagenlecleucel")).isEqualTo(carT);
    }

    @Test
    void lineageAndPhiladelphiaDecideTargetedOptions() {
        TestRecord t = TestRecord.aged(30).tAll(ago(800));
        t.remission(ago(760));
        t.marrow(30, ago(5));
        List<String> tOptions = codes(t.status(), "Relapse Review Treatment Options");
        assertThat(tOptions).contains("nelarabine").doesNotContain("blinatumomab", "inotuzumab-ozogamicin",
                "car-t-tisagenlecleucel", "tki");

        TestRecord u = TestRecord.aged(30).all(ago(800)); // lineage unknown
        u.remission(ago(760));
        u.marrow(30, ago(5));
        u.coded(LOINC, BCR_ABL, true, ago(5));
        List<String> uOptions = codes(u.status(), "Relapse Review Treatment Options");
        assertThat(uOptions).contains("blinatumomab", "inotuzumab-ozogamicin", "tki")
                .doesNotContain("nelarabine", "car-t-tisagenlecleucel");
        assertThat(u.common().get("Ph Status")).isEqualTo("positive");
    }

    @Test
    void phPositiveFromDiagnosisCode() {
        TestRecord r = TestRecord.aged(50);
        r.condition(ICDO3, "9812/3", ago(300), "active");
        assertThat(r.common().get("Ph Status")).isEqualTo("positive");
        assertThat(r.common().get("Lineage")).isEqualTo("B");
        TestRecord n = TestRecord.aged(50).all(ago(300));
        n.coded(LOINC, BCR_ABL, false, ago(290));
        assertThat(n.common().get("Ph Status")).isEqualTo("negative");
    }

    @ParameterizedTest(name = "age {0}, {1} prior regimens -> clofarabine {2}")
    @CsvSource({ "15, 2, true", "15, 1, false", "21, 2, true", "22, 2, false", "0, 2, false" })
    void clofarabine(int age, int regimens, boolean offered) {
        TestRecord r = inRemission(age);
        for (int i = 0; i < regimens; i++) {
            r.procedure("367336001", ago(790 - 100 * i));
        }
        r.marrow(30, ago(5));
        assertThat(codes(r.status(), "Relapse Review Treatment Options").contains("clofarabine")).isEqualTo(offered);
    }

    @Test
    void priorRegimensGroupCyclesOfOneCourse() {
        TestRecord r = TestRecord.aged(10).all(ago(500));
        var course = r.procedure("367336001", ago(480));
        r.procedure("367336001", ago(470)).addPartOf(new Reference("Procedure/" + course.getIdElement().getIdPart()));
        r.procedure("367336001", ago(460)).addPartOf(new Reference("Procedure/" + course.getIdElement().getIdPart()));
        r.procedure("367336001", ago(200));
        r.procedure("367336001", ago(200)); // same day, but a Procedure of its own: a course of its own
        assertThat(r.common().get("Prior Regimen Count")).isEqualTo(3);
    }

    @ParameterizedTest(name = "age {0} relapse -> palliative radiation {1}")
    @CsvSource({ "17, false", "18, true" })
    void lowDoseRadiationForAdults(int age, boolean offered) {
        TestRecord r = inRemission(age);
        r.marrow(30, ago(5));
        assertThat(codes(r.status(), "Relapse Review Treatment Options").contains("low-dose-radiation-palliative"))
                .isEqualTo(offered);
    }

    @Test
    void relapseReviewCarriesEvidenceFindingsAndReasons() {
        TestRecord r = inRemission(40);
        Observation m = r.marrow(30, ago(5));
        Map<String, Object> s = r.status();
        assertThat(list(s, "Relapse Review Evidence")).contains("Observation/" + m.getIdElement().getIdPart());
        assertThat(list(s, "Relapse Review Findings").toString()).contains("30", ago(5).toString());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> options = (List<Map<String, Object>>) (List<?>) list(s, "Relapse Review Treatment Options");
        assertThat(options).allSatisfy(o -> assertThat((String) o.get("reason")).isNotBlank());
        assertThat(codes(s, "Relapse Review Treatment Options")).contains("combination-chemotherapy", "allogeneic-sct", "clinical-trial")
                .doesNotHaveDuplicates();
    }

    // ------------------------------------------------------------------ refractory

    @ParameterizedTest(name = "high marrow on day {0} -> refractory {1}")
    @CsvSource({ "27, false", "28, true" })
    void refractoryFromDay28(int day, boolean refractory) {
        TestRecord r = TestRecord.aged(20).bAll(ago(60));
        r.marrow(30, ago(60 - day));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Refractory Review")).isEqualTo(refractory);
        if (refractory) {
            List<String> options = codes(s, "Refractory Review Treatment Options");
            assertThat(options.get(0)).isEqualTo("clinical-trial");
            assertThat(options).contains("allogeneic-sct", "blinatumomab", "car-t-tisagenlecleucel")
                    .doesNotContain("combination-chemotherapy", "low-dose-radiation-palliative", "intrathecal-chemotherapy");
            assertThat(fires(s, "Relapse Review")).isFalse();
        }
    }

    // ------------------------------------------------------------------ induction response

    @ParameterizedTest(name = "day {0} -> fires {1}, indicator {2}")
    @CsvSource({ "27, false, ", "28, true, info", "42, true, info", "43, true, warning", "90, true, warning", "91, false, " })
    void inductionResponseWindow(int day, boolean fires, String indicator) {
        TestRecord r = TestRecord.aged(10).bAll(ago(day));
        r.marrow(80, ago(day)); // diagnostic marrow, day 0
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Induction Response")).isEqualTo(fires);
        assertThat(s.get("Induction Response Indicator")).isEqualTo(indicator);
        if (fires) {
            assertThat(codes(s, "Induction Response Tests")).containsExactly("49401003", "234326005");
        } else {
            assertThat(list(s, "Induction Response Tests")).isEmpty();
        }
    }

    @ParameterizedTest(name = "marrow on day {0} -> response done {1}")
    @CsvSource({ "21, false", "22, true" })
    void inductionMarrowAfterDay21(int marrowDay, boolean done) {
        TestRecord r = TestRecord.aged(10).bAll(ago(35));
        r.procedure("49401003", ago(35 - marrowDay));
        assertThat(fires(r.status(), "Induction Response")).isEqualTo(!done);
    }

    // ------------------------------------------------------------------ baseline work-up

    @Test
    void baselineWorkupProposesOnlyMissingTests() {
        TestRecord r = TestRecord.aged(10).bAll(ago(10));
        r.normalCbc(ago(12));
        r.quantity(BLOOD_BLASTS, 40, "%", ago(12));
        r.marrow(85, ago(9));
        r.obs(IMMUNOPHENOTYPE, ago(9));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Baseline Workup")).isTrue();
        assertThat(codes(s, "Baseline Workup Tests")).containsExactly("234326005", KARYOTYPE, BCR_ABL, "277762005");
        assertThat(list(s, "Baseline Workup Evidence")).hasSize(1);
    }

    @ParameterizedTest(name = "diagnosed {0} days ago -> baseline card {1}")
    @CsvSource({ "60, true", "61, false" })
    void baselineOnlyWhenNewlyDiagnosed(int days, boolean fires) {
        assertThat(fires(TestRecord.aged(10).bAll(ago(days)).status(), "Baseline Workup")).isEqualTo(fires);
    }

    @Test
    void baselineCompleteNoCard() {
        TestRecord r = TestRecord.aged(10).bAll(ago(10));
        r.normalCbc(ago(10));
        r.obs("5909-7", ago(10));
        r.marrow(85, ago(9));
        r.procedure("234326005", ago(9));
        r.obs(IMMUNOPHENOTYPE, ago(9));
        r.obs(KARYOTYPE, ago(9));
        r.coded(LOINC, BCR_ABL, false, ago(9));
        r.procedure("277762005", ago(8));
        assertThat(fires(r.status(), "Baseline Workup")).isFalse();
    }

    // ------------------------------------------------------------------ relapse suspected

    @Test
    void relapseSuspectedFromTwoLowLineages() {
        TestRecord r = inRemission(40);
        r.cbc(0.5, 60, 12, ago(3)); // ANC and platelets low
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Relapse Workup")).isTrue();
        assertThat(codes(s, "Relapse Workup Tests")).containsExactly("5909-7", "49401003", "234326005");
        assertThat(list(s, "Relapse Workup Findings").toString()).contains("ANC", "Platelets");

        TestRecord one = inRemission(40);
        one.cbc(0.5, 160, 12, ago(3)); // one low lineage only
        assertThat(fires(one.status(), "Relapse Workup")).isFalse();
    }

    @Test
    void relapseSuspectedFromBlastsWithCnsSymptoms() {
        TestRecord r = inRemission(40);
        r.normalCbc(ago(3));
        r.quantity(BLOOD_BLASTS, 4, "%", ago(3));
        r.condition(SCT, "91175000", ago(4), "active"); // seizure
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Relapse Workup")).isTrue();
        // the blast count came from a smear 3 days ago: no new smear proposed
        assertThat(codes(s, "Relapse Workup Tests")).containsExactly("49401003", "234326005", "277762005");
    }

    @Test
    void noRelapseWorkupOnceMarrowDone() {
        TestRecord r = inRemission(40);
        r.cbc(0.5, 60, 8, ago(3));
        r.marrow(3, ago(1));
        assertThat(fires(r.status(), "Relapse Workup")).isFalse();
    }

    // ------------------------------------------------------------------ monitoring

    @ParameterizedTest(name = "last CBC {0} days ago -> monitoring {1}")
    @CsvSource({ "90, false", "91, true" })
    void monitoringOverdueAfter90Days(int days, boolean fires) {
        TestRecord r = TestRecord.aged(40).bAll(ago(500));
        r.remission(ago(400));
        r.normalCbc(ago(days));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Remission Monitoring")).isEqualTo(fires);
        assertThat(codes(s, "Remission Monitoring Tests")).isEqualTo(fires ? List.of(CBC_PANEL) : List.of());
    }

    @Test
    void noMonitoringAfterFiveYears() {
        TestRecord r = TestRecord.aged(40).bAll(ago(2000));
        r.remission(ago(1900));
        assertThat(fires(r.status(), "Remission Monitoring")).isFalse();
    }

    @Test
    void recordedRemissionWithoutDataStillNeedsMonitoring() {
        TestRecord r = TestRecord.aged(40).all(ago(500));
        r.condition(ICD10, "C91.01", ago(300), "active");
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Remission Monitoring")).isTrue();
        assertThat(fires(s, "Remission Status")).isFalse(); // never reassuring without data
        assertThat(list(s, "Remission Monitoring Findings").toString()).contains("No complete blood count");
    }

    // ------------------------------------------------------------------ MRD

    @ParameterizedTest(name = "MRD {0} {1} -> card {2}")
    @CsvSource({ "0.01, %, true", "0.009, %, false", "0.0001, 1, true", "0.00009, 1, false" })
    void mrdThreshold(double value, String unit, boolean fires) {
        TestRecord r = inRemission(30);
        r.normalCbc(ago(20));
        r.quantity("mrd", value, unit, ago(20)).getCode().getCodingFirstRep().setSystem(LAB);
        Map<String, Object> s = r.status();
        assertThat(fires(s, "MRD Review")).isEqualTo(fires);
        if (fires) {
            assertThat(codes(s, "MRD Review Treatment Options")).containsExactly("clinical-trial");
        }
    }

    @Test
    void mrdCodedPositiveAndBelowDetectionLimit() {
        TestRecord r = inRemission(30);
        r.coded(LAB, "mrd", true, ago(20));
        assertThat(fires(r.status(), "MRD Review")).isTrue();
        TestRecord q = inRemission(30);
        Observation o = q.quantity("mrd", 0.01, "%", ago(20));
        o.getCode().getCodingFirstRep().setSystem(LAB);
        o.getValueQuantity().setComparator(org.hl7.fhir.r4.model.Quantity.QuantityComparator.LESS_THAN);
        assertThat(fires(q.status(), "MRD Review")).isFalse();
    }

    // ------------------------------------------------------------------ remission status

    @Test
    void remissionStatusWhenRecordSilent() {
        TestRecord r = TestRecord.aged(30).all(ago(100));
        r.remission(ago(60));
        r.normalCbc(ago(10));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Remission Status")).isTrue();
        assertThat(list(s, "Remission Status Evidence")).isNotEmpty();
        assertThat(list(s, "Remission Status Findings").toString()).contains(ago(60).toString());

        TestRecord said = TestRecord.aged(30).all(ago(100));
        said.remission(ago(60));
        said.normalCbc(ago(10));
        said.condition(SCT, "550991000124107", ago(55), "active");
        assertThat(fires(said.status(), "Remission Status")).isFalse();
    }

    @Test
    void noRemissionStatusFromStaleCounts() {
        TestRecord r = TestRecord.aged(30).all(ago(300));
        r.remission(ago(200)); // last CBC 200 days ago
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Remission Status")).isFalse();
        assertThat(fires(s, "Remission Monitoring")).isTrue();
    }

    // ------------------------------------------------------------------ issue 18: the edges (items 1-16)

    /** Item 1: a routine marrow months ago does not answer today's abnormal count. */
    @Test
    void relapseSuspectedIsAnsweredOnlyByAMarrowOnOrAfterTheAbnormalCount() {
        TestRecord r = inRemission(40);
        r.marrow(1.0, ago(200)); // routine marrow in remission
        r.normalCbc(ago(200));
        r.cbc(2.5, 180, 12.5, ago(2));
        r.quantity(BLOOD_BLASTS, 6, "%", ago(2));
        assertThat(fires(r.status(), "Relapse Workup")).isTrue();
        r.marrow(2.0, ago(2)); // a marrow the same day answers it
        assertThat(fires(r.status(), "Relapse Workup")).isFalse();
    }

    /** Item 2: same-day marrows that disagree: the worse decides, and it is a conflict. */
    @Test
    void sameDayConflictingMarrowsNeverGiveRemission() {
        TestRecord r = TestRecord.aged(30).all(ago(100));
        r.marrow(3.0, ago(60));
        Observation bad = r.marrow(12.0, ago(60));
        r.normalCbc(ago(60));
        r.normalCbc(ago(5));
        Map<String, Object> s = r.status();
        assertThat(r.common().get("Computed CR Date")).isNull();
        assertThat(fires(s, "Remission Status")).isFalse();
        assertThat(fires(s, "Refractory Review")).isTrue(); // day 40, worse value 12 %
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(list(s, "Data Conflict Evidence")).contains("Observation/" + bad.getIdElement().getIdPart());
    }

    /** Item 3: the record says relapse, the labs hold only an old remission: conflict, never "record remission". */
    @Test
    void recordSaysRelapseWithoutALabFindingIsAConflictNotARemissionCard() {
        TestRecord r = TestRecord.aged(30).all(ago(400));
        r.remission(ago(350));
        r.normalCbc(ago(10));
        r.condition(ICD10, "C91.02", ago(30), "active");
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Remission Status")).isFalse();
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(list(s, "Data Conflict Findings").toString()).contains("relapse");
    }

    /** Item 4: Philadelphia-positive once is positive for good. */
    @Test
    void philadelphiaPositiveStaysPositiveAfterANegativeResult() {
        TestRecord r = inRemission(40);
        r.coded(LOINC, BCR_ABL, true, ago(795));
        r.coded(LOINC, BCR_ABL, false, ago(300));
        r.marrow(30, ago(5));
        Map<String, Object> s = r.status();
        assertThat(r.common().get("Ph Status")).isEqualTo("positive");
        assertThat(codes(s, "Relapse Review Treatment Options")).contains("tki");
    }

    /** Item 5: a lab range or flag never replaces the marrow threshold. */
    @Test
    void referenceRangeNeverReplacesTheMarrowThreshold() {
        TestRecord r = inRemission(40);
        Observation m = r.marrow(5.0, ago(5));
        refRange(m, 0.0, 5.0, "%");
        assertThat(fires(r.status(), "Relapse Review")).isTrue();
        TestRecord q = inRemission(40);
        interpretation(q.marrow(4.0, ago(5)), "H");
        assertThat(fires(q.status(), "Relapse Review")).isFalse();
    }

    /** Item 6: a future CSF result is reported and used by no rule. */
    @Test
    void futureCsfResultIsNeverACnsRelapse() {
        TestRecord r = inRemission(40);
        r.cnsPositive(TODAY.plusDays(1));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Relapse Review")).isFalse();
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(list(s, "Data Conflict Findings").toString()).contains("future");
    }

    /** Item 7: recordedDate is not the remission date; no marrow before day 28 is a relapse. */
    @Test
    void diagnosticMarrowAfterARecordedRemissionIsNotARelapse() {
        TestRecord r = TestRecord.aged(40).all(ago(20));
        r.condition(ICD10, "C91.01", null, "active").setRecordedDate(java.sql.Date.valueOf(ago(20)));
        r.marrow(80, ago(18));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Relapse Review")).isFalse();
        assertThat(fires(s, "Refractory Review")).isFalse();
        assertThat(s.get("Relapse Timing")).isNull();
    }

    /** Item 8: a comparator counts only where it settles the question. */
    @ParameterizedTest(name = "marrow {0}{1} % -> CR {2}, conflict {3}")
    @CsvSource({ "<, 1, true, false", "'>', 4, false, true", "'>', 6, false, false" })
    void comparatorCountsOnlyWhereItSettles(String cmp, double value, boolean cr, boolean conflict) {
        TestRecord r = TestRecord.aged(30).all(ago(100));
        r.marrow(value, ago(60)).getValueQuantity().setComparator(
                org.hl7.fhir.r4.model.Quantity.QuantityComparator.fromCode(cmp));
        r.normalCbc(ago(60));
        r.normalCbc(ago(5));
        Map<String, Object> s = r.status();
        assertThat(r.common().get("Computed CR Date") != null).isEqualTo(cr);
        assertThat(fires(s, "Data Conflict")).isEqualTo(conflict);
        if (conflict) {
            assertThat(fires(s, "Refractory Review")).isFalse();
        }
    }

    /** Item 9: an undated recorded remission and then a marrow >= 5 % is a relapse of unknown timing. */
    @ParameterizedTest(name = "marrow {0} days after the recordedDate bound -> {1}")
    @CsvSource({ "300, unknown", "1100, late" })
    void undatedRecordedRemissionThenMarrowIsARelapse(int daysAfter, String timing) {
        TestRecord r = TestRecord.aged(40).all(ago(daysAfter + 100));
        r.condition(ICD10, "C91.01", null, "active").setRecordedDate(java.sql.Date.valueOf(ago(daysAfter + 5)));
        r.marrow(30, ago(5));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Relapse Review")).isTrue();
        assertThat(fires(s, "Refractory Review")).isFalse();
        assertThat(s.get("Relapse Timing")).isEqualTo(timing);
        assertThat(fires(s, "Data Conflict")).isTrue();
        // months from the recordedDate bound: the remission began at least that long before the relapse
        assertThat(s.get("Months Since Remission")).isEqualTo((int) java.time.temporal.ChronoUnit.MONTHS.between(ago(daysAfter + 5), ago(5)));
        assertThat(list(s, "Relapse Review Findings").toString()).contains("at least");
    }

    /** Item 10: a lone WBC is not a CBC; ANC may be worked out from WBC x neutrophil %. */
    @Test
    void aLoneWbcIsNotACbc() {
        TestRecord r = TestRecord.aged(40).bAll(ago(500));
        r.remission(ago(400));
        r.quantity(WBC, 5.0, "10*9/L", ago(10));
        Map<String, Object> s = r.status();
        assertThat(fires(s, "Remission Monitoring")).isTrue();
        assertThat(fires(s, "Remission Status")).isFalse();

        TestRecord q = TestRecord.aged(40).bAll(ago(500));
        q.remission(ago(400));
        q.quantity(WBC, 5.0, "10*9/L", ago(10));
        q.neutrophilPercent(50, ago(10));
        q.quantity(PLT, 180, "10*9/L", ago(10));
        q.quantity(HGB, 12.5, "g/dL", ago(10));
        assertThat(fires(q.status(), "Remission Monitoring")).isFalse();
        assertThat(q.common().get("Latest Complete CBC")).isNotNull();
    }

    @Test
    void aLaterPartialDrawNeverHidesAnEarlierAbnormalCbc() {
        TestRecord r = inRemission(40);
        r.cbc(0.4, 50, 12.5, ago(5)); // two low lineages
        r.quantity(WBC, 4.0, "10*9/L", ago(2)); // later lone WBC
        assertThat(fires(r.status(), "Relapse Workup")).isTrue();
    }

    /** Item 11: an MRD from induction is not an MRD-in-remission finding. */
    @Test
    void mrdBeforeTheRemissionDoesNotFireTheMrdCard() {
        TestRecord r = inRemission(30);
        r.normalCbc(ago(20));
        r.quantity("mrd", 0.5, "%", ago(770)).getCode().getCodingFirstRep().setSystem(LAB);
        assertThat(fires(r.status(), "MRD Review")).isFalse();
    }

    /** Item 12: the diagnosis date is the earliest onset over every ALL Condition, whatever its code. */
    @Test
    void diagnosisDateFromAConditionCodedBAllAndC9101() {
        TestRecord r = TestRecord.aged(30);
        org.hl7.fhir.r4.model.Condition c = r.condition(SCT, "277571004", ago(50), "active");
        c.getCode().addCoding(new org.hl7.fhir.r4.model.Coding(ICD10, "C91.02", null));
        assertThat(r.common().get("Diagnosis Date")).hasToString(ago(50).toString());
        assertThat(fires(r.status(), "Baseline Workup")).isTrue();
    }

    /** Item 13: CNS disease found at diagnosis does not block a later remission. */
    @Test
    void workupCsfFindingDoesNotBlockALaterRemission() {
        TestRecord r = TestRecord.aged(30).all(ago(400));
        r.cnsPositive(ago(398));
        r.remission(ago(360));
        r.marrow(40, ago(10));
        Map<String, Object> s = r.status();
        assertThat(r.common().get("Computed CR Date")).hasToString(ago(360).toString());
        assertThat(fires(s, "Relapse Review")).isTrue();
        assertThat(fires(s, "Refractory Review")).isFalse();
    }

    /** Item 14: same-day ANC values that disagree: the lower decides, and it is a conflict. */
    @Test
    void sameDayConflictingCountsTheLowerDecides() {
        TestRecord r = TestRecord.aged(30).all(ago(100));
        r.marrow(1.0, ago(60));
        r.normalCbc(ago(60));
        Observation low = r.quantity(ANC, 0.4, "10*9/L", ago(60));
        r.normalCbc(ago(5));
        Map<String, Object> s = r.status();
        assertThat(r.common().get("Computed CR Date")).isNull();
        assertThat(fires(s, "Data Conflict")).isTrue();
        assertThat(list(s, "Data Conflict Evidence")).contains("Observation/" + low.getIdElement().getIdPart());
    }

    /**
     * "X Same Day" holds the results of a day with two or more results of that test, read (agreeing or not), and no
     * other; "Same Day Disagreements" takes from them the ones that disagree, test by test.
     */
    @Test
    void sameDayListsHoldOnlyDaysWithTwoResultsOfATest() {
        TestRecord r = inRemission(40);
        r.normalCbc(ago(20));
        r.normalCbc(ago(10));
        Observation agreeing = r.quantity(PLT, 190, "10*9/L", ago(10));
        Observation lowHgb = r.quantity(HGB, 8.0, "g/dL", ago(20));
        Observation noBlasts = r.quantity(BLOOD_BLASTS, 0, "%", ago(5));
        Observation blasts = r.quantity(BLOOD_BLASTS, 3, "%", ago(5));
        r.quantity(BLOOD_BLASTS, 0, "%", ago(4)); // alone on its day
        Map<String, Object> c = r.common();
        assertThat(list(c, "ANC Same Day")).isEmpty();
        assertThat(list(c, "Platelet Same Day")).hasSize(2).asString().contains(ref(agreeing));
        assertThat(list(c, "Hemoglobin Same Day")).hasSize(2).asString().contains(ref(lowHgb));
        assertThat(list(c, "Blood Blast Same Day")).hasSize(2).asString().contains(ref(noBlasts), ref(blasts));
        assertThat(list(c, "Blood Blast Usable")).hasSize(3);
        String disagreements = list(c, "Same Day Disagreements").toString();
        assertThat(list(c, "Same Day Disagreements")).hasSize(4);
        assertThat(disagreements).contains(ref(lowHgb), ref(noBlasts), ref(blasts)).doesNotContain(ref(agreeing));
        assertThat(fires(r.status(), "Data Conflict")).isTrue();
    }

    /** A draw's ANC: a reported one decides; the one worked out from WBC x neutrophil % only when none is reported. */
    @Test
    void aReportedAncDecidesOverTheOneWorkedOutFromTheWbc() {
        for (boolean reported : new boolean[] {false, true}) {
            TestRecord r = inRemission(40);
            r.quantity(PLT, 50, "10*9/L", ago(10)); // low
            r.quantity(HGB, 12.5, "g/dL", ago(10));
            r.quantity(WBC, 2.0, "10*9/L", ago(10));
            r.neutrophilPercent(20, ago(10)); // worked out: 0.4, low
            if (reported) {
                r.quantity(ANC, 2.5, "10*9/L", ago(10)); // reported, normal
            }
            assertThat(r.common().get("Latest Complete CBC")).asString().contains(ago(10).toString());
            Map<String, Object> s = r.status();
            // two low lineages (worked-out ANC and platelets) suggest relapse; with the reported ANC only one is low
            assertThat(fires(s, "Relapse Workup")).as("reported ANC: %s", reported).isEqualTo(!reported);
        }
    }

    /** Item 15: marrow and CNS findings in one relapse episode are combined, however far apart. */
    @Test
    void cnsFindingLaterInTheSameRelapseEpisodeIsCombined() {
        TestRecord r = inRemission(40);
        r.marrow(25, ago(100));
        r.cnsPositive(ago(20));
        Map<String, Object> s = r.status();
        assertThat(s.get("Relapse Site")).isEqualTo("combined");
        assertThat(codes(s, "Relapse Review Treatment Options")).contains("intrathecal-chemotherapy");
    }

    /** Item 16: every top-level chemotherapy Procedure is a regimen, dated or not. */
    @Test
    void regimensAreTopLevelChemotherapyProceduresDatedOrNot() {
        TestRecord r = TestRecord.aged(10).all(ago(500));
        var course = r.procedure("367336001", ago(480));
        r.procedure("367336001", ago(470)).addPartOf(new Reference("Procedure/" + course.getIdElement().getIdPart()));
        r.procedure("367336001", ago(200));
        r.procedure("367336001", ago(200));
        r.procedure("367336001", ago(100)).setPerformed(null);
        assertThat(r.common().get("Prior Regimen Count")).isEqualTo(4);
    }

    /** Item 17: an instant is dated in the evaluation's zone, as "today" is. */
    @Test
    void instantsAreDatedInTheEvaluationZone() {
        TestRecord r = TestRecord.aged(30).all(ago(200));
        r.marrow(1.0, ago(50)).setEffective(new org.hl7.fhir.r4.model.DateTimeType("2025-05-20T20:00:00Z"));
        java.time.ZonedDateTime tokyo = TODAY.atTime(10, 0).atZone(java.time.ZoneId.of("Asia/Tokyo"));
        assertThat(r.eval("ALLCommon", Map.of(), tokyo).get("Last Marrow Aspiration Date")).hasToString("2025-05-21");
        assertThat(r.common().get("Last Marrow Aspiration Date")).hasToString("2025-05-20");
        java.time.ZonedDateTime newYork = TODAY.atTime(10, 0).atZone(java.time.ZoneId.of("America/New_York"));
        assertThat(r.eval("ALLCommon", Map.of(), newYork).get("Last Marrow Aspiration Date")).hasToString("2025-05-20");
    }
}
