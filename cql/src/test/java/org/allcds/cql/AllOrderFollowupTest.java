package org.allcds.cql;

import static org.allcds.cql.TestRecord.*;
import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.ServiceRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Unit cases for ALLOrderFollowup (dx-order-companions); rules: clinical-rules.md, "Order-select companions". */
class AllOrderFollowupTest {

    static final List<String> ALL_MARROW_TESTS = List.of(CBC_PANEL, "5909-7", IMMUNOPHENOTYPE, KARYOTYPE, BCR_ABL);

    @SuppressWarnings("unchecked")
    static List<String> codes(Map<String, Object> r) {
        return ((List<Object>) r.get("Order Companions Tests")).stream()
                .map(t -> (String) ((Map<String, Object>) t).get("code")).toList();
    }

    static boolean fires(Map<String, Object> r) {
        assertThat(r.get("Order Companions Fires")).isNotNull();
        return (Boolean) r.get("Order Companions Fires");
    }

    static TestRecord patient() {
        return TestRecord.aged(30).bAll(ago(400));
    }

    /** Every marrow companion but the CBC resulted or ordered: only the CBC is left to propose. */
    static TestRecord allButCbcDone() {
        TestRecord r = patient();
        r.selectedDraft(SCT, "49401003");
        r.quantity(BLOOD_BLASTS, 0, "%", ago(2));
        r.obs(IMMUNOPHENOTYPE, ago(2));
        r.obs(KARYOTYPE, ago(2));
        r.coded(LOINC, BCR_ABL, false, ago(2));
        r.quantity("11150-0", 1, "%", ago(30)); // an old marrow: not a companion
        r.draft(LAB, "mrd");
        return r;
    }

    @Test
    void selectedMarrowOrderProposesAllMarrowCompanions() {
        TestRecord r = patient();
        ServiceRequest sr = r.selectedDraft(SCT, "49401003");
        Map<String, Object> o = r.orders();
        assertThat(fires(o)).isTrue();
        assertThat(codes(o)).containsExactlyElementsOf(ALL_MARROW_TESTS);
        // MRD has only a local code: named in the findings, never a ServiceRequest suggestion
        assertThat(o.get("Order Companions Findings").toString()).contains("No standard test code exists for: Measurable residual disease");
        assertThat(o.get("Order Companions Evidence").toString()).contains("ServiceRequest/" + sr.getIdElement().getIdPart());
        assertThat(o.get("Order Companions Findings").toString()).contains("bone marrow");
    }

    @Test
    void companionsAlreadyOrderedOrRecentlyResultedAreLeftOut() {
        TestRecord r = patient();
        r.selectedDraft(SCT, "234326005");
        r.draft(LOINC, CBC_PANEL);
        r.draft(LOINC, KARYOTYPE);
        r.quantity(BLOOD_BLASTS, 0, "%", ago(7)); // smear-based count within 7 days
        r.obs(IMMUNOPHENOTYPE, ago(14));           // within 14 days
        r.coded(LOINC, BCR_ABL, false, ago(15));   // 15 days: outside the window
        Map<String, Object> o = r.orders();
        assertThat(codes(o)).containsExactly(BCR_ABL);
        assertThat(o.get("Order Companions Findings").toString()).contains("Measurable residual disease");
    }

    @ParameterizedTest(name = "CBC {0} days ago -> proposed {1}")
    @CsvSource({ "7, false", "8, true" })
    void bloodCountWindow(int days, boolean proposed) {
        TestRecord r = patient();
        r.selectedDraft(SCT, "49401003");
        r.normalCbc(ago(days));
        assertThat(codes(r.orders()).contains(CBC_PANEL)).isEqualTo(proposed);
    }

    @Test
    void selectedLumbarPunctureProposesCsfCounts() {
        TestRecord r = patient();
        r.selectedDraft(SCT, "277762005");
        r.quantity(CSF_WBC, 2, "/uL", ago(3)); // a previous LP's count does not cover the new sample
        Map<String, Object> o = r.orders();
        assertThat(fires(o)).isTrue();
        assertThat(codes(o)).containsExactly(CSF_WBC, CSF_BLASTS);

        TestRecord q = patient();
        q.selectedDraft(SCT, "277762005");
        q.draft(LOINC, CSF_WBC);
        q.draft(LOINC, CSF_BLASTS);
        assertThat(fires(q.orders())).isFalse();
    }

    @Test
    void noCardWithoutAllOrWithoutASelectedExam() {
        TestRecord noAll = TestRecord.aged(30);
        noAll.selectedDraft(SCT, "49401003");
        Map<String, Object> o = noAll.orders();
        assertThat(fires(o)).isFalse();
        assertThat((List<?>) o.get("Order Companions Tests")).isEmpty();

        TestRecord notExam = patient();
        notExam.order(SCT, "49401003", ServiceRequest.ServiceRequestStatus.ACTIVE); // placed earlier, not selected now
        notExam.selectedDraft(LOINC, CBC_PANEL); // selected, but not a marrow or CSF exam
        assertThat(fires(notExam.orders())).isFalse();
        assertThat(notExam.orders().get("Has ALL")).isEqualTo(true);
    }

    // ---------------------------------------------------------------- selections (conformance 6)

    @Test
    void onlySelectedOrdersTrigger() {
        TestRecord r = patient();
        r.draft(SCT, "49401003"); // on the order form, not selected now
        assertThat(fires(r.orders())).as("a draft that is not selected does not trigger").isFalse();

        TestRecord both = patient();
        ServiceRequest other = both.draft(SCT, "49401003");
        ServiceRequest lp = both.selectedDraft(SCT, "277762005");
        Map<String, Object> o = both.orders();
        assertThat(codes(o)).containsExactly(CSF_WBC, CSF_BLASTS);
        assertThat(o.get("Order Companions Evidence").toString())
                .contains("ServiceRequest/" + lp.getIdElement().getIdPart())
                .doesNotContain("ServiceRequest/" + other.getIdElement().getIdPart());
    }

    @Test
    void unselectedDraftsCountAsOrdered() {
        TestRecord r = patient();
        r.selectedDraft(SCT, "49401003");
        r.draft(LOINC, CBC_PANEL);
        r.draft(LOINC, IMMUNOPHENOTYPE);
        assertThat(codes(r.orders())).containsExactly("5909-7", KARYOTYPE, BCR_ABL);
    }

    // ---------------------------------------------------------------- item 20: a CBC is a complete draw

    @Test
    void aLoneWbcIsNotTheCbcCompanion() {
        TestRecord r = allButCbcDone();
        r.quantity(WBC, 5.1, "10*9/L", ago(3));
        assertThat(codes(r.orders())).containsExactly(CBC_PANEL);
    }

    @Test
    void countsOfDifferentDaysAreNotACbc() {
        TestRecord r = allButCbcDone();
        r.quantity(ANC, 2.0, "10*9/L", ago(3));
        r.quantity(PLT, 180, "10*9/L", ago(2));
        r.quantity(HGB, 12, "g/dL", ago(1));
        assertThat(codes(r.orders())).containsExactly(CBC_PANEL);
    }

    @Test
    void aCompleteDrawWithTheAncWorkedOutFromWbcAndNeutrophilsIsTheCbc() {
        TestRecord r = allButCbcDone();
        r.quantity(WBC, 5.1, "10*9/L", ago(3));
        r.quantity(NEUTROPHILS_PERCENT, 55, "%", ago(3));
        r.quantity(PLT, 180, "10*9/L", ago(3));
        r.quantity(HGB, 12, "g/dL", ago(3));
        assertThat(fires(r.orders())).isFalse();

        TestRecord withAnc = allButCbcDone();
        withAnc.cbc(2.0, 180, 12, ago(3));
        assertThat(fires(withAnc.orders())).isFalse();
    }

    @Test
    void aSingleAnalyteOrderIsNotACbcOrder() {
        TestRecord r = allButCbcDone();
        r.draft(LOINC, PLT);
        assertThat(codes(r.orders())).containsExactly(CBC_PANEL);

        TestRecord panel = allButCbcDone();
        panel.draft(LOINC, "58410-2"); // CBC panel - Blood by Automated count
        assertThat(fires(panel.orders())).isFalse();
    }

    // ---------------------------------------------------------------- item 21: future results never count

    @Test
    void aCsfResultDatedTomorrowIsNotDone() {
        TestRecord r = patient();
        r.selectedDraft(SCT, "277762005");
        r.quantity(CSF_WBC, 2, "/uL", ago(-1));
        r.quantity(CSF_BLASTS, 0, "%", ago(-1));
        assertThat(codes(r.orders())).containsExactly(CSF_WBC, CSF_BLASTS);

        TestRecord today = patient();
        today.selectedDraft(SCT, "277762005");
        today.quantity(CSF_WBC, 2, "/uL", ago(0));
        today.quantity(CSF_BLASTS, 0, "%", ago(0));
        assertThat(fires(today.orders())).as("resulted today: done").isFalse();
    }

    @Test
    void futureOrUnreadableMarrowStudiesAreNotDone() {
        TestRecord r = allButCbcDone();
        r.normalCbc(ago(1));
        r.obs(KARYOTYPE, ago(-2));                          // dated after today: impossible
        r.quantity(BLOOD_BLASTS, 0, "%", ago(-1));
        r.quantityText(BCR_ABL, 0.1, "copies", ago(1));     // a unit that cannot be read
        // the earlier (ago(2)) smear, immunophenotype, BCR-ABL1 and karyotype still count
        assertThat(fires(r.orders())).isFalse();

        TestRecord onlyFuture = patient();
        onlyFuture.selectedDraft(SCT, "49401003");
        onlyFuture.normalCbc(ago(-1));
        onlyFuture.obs(KARYOTYPE, ago(-2));
        onlyFuture.quantityText(BCR_ABL, 0.1, "copies", ago(1));
        assertThat(codes(onlyFuture.orders())).containsExactlyElementsOf(ALL_MARROW_TESTS);
    }

    // ---------------------------------------------------------------- item 22: trigger codes

    @ParameterizedTest(name = "CPT {0} triggers the {1} companions")
    @CsvSource({ "38220, marrow", "38221, marrow", "38222, marrow", "62270, csf" })
    void cptOrdersTrigger(String cpt, String kind) {
        TestRecord r = patient();
        r.selectedDraft(CPT, cpt);
        Map<String, Object> o = r.orders();
        assertThat(fires(o)).isTrue();
        assertThat(codes(o)).containsExactlyElementsOf(kind.equals("marrow") ? ALL_MARROW_TESTS : List.of(CSF_WBC, CSF_BLASTS));
    }

    @Test
    void aSiteAddsItsLocalOrderCodeToTheTriggers(@TempDir Path extra) throws Exception {
        TestRecord r = patient();
        r.selectedDraft("urn:oid:1.2.3.4.local-orders", "BMBX");
        assertThat(fires(r.orders())).as("an unknown local code does not trigger by default").isFalse();

        Files.writeString(extra.resolve("site-marrow-orders.json"), """
                {"resourceType": "ValueSet", "url": "http://allcds.org/fhir/ValueSet/marrow-exam-order", "status": "active",
                 "compose": {"include": [{"system": "urn:oid:1.2.3.4.local-orders",
                   "concept": [{"code": "BMBX", "display": "Bone marrow biopsy (site order)"}]}]}}
                """);
        CqlLogic site = CqlLogic.load(ValueSetRepository.load(FhirContext.forR4Cached(), extra));
        Map<String, Object> o = r.orders(site);
        assertThat(fires(o)).isTrue();
        assertThat(codes(o)).containsExactlyElementsOf(ALL_MARROW_TESTS);
    }

    // ---------------------------------------------------------------- item 23: placed orders, preliminary results

    @Test
    void activeOrOnHoldOrdersOfTheRecordCountAsOrdered() {
        TestRecord r = patient();
        r.selectedDraft(SCT, "49401003");
        r.order(LOINC, CBC_PANEL, ServiceRequest.ServiceRequestStatus.ACTIVE);
        r.order(LOINC, KARYOTYPE, ServiceRequest.ServiceRequestStatus.ONHOLD);
        r.order(LOINC, IMMUNOPHENOTYPE, ServiceRequest.ServiceRequestStatus.COMPLETED); // done ordering, no result yet
        r.order(LOINC, BCR_ABL, ServiceRequest.ServiceRequestStatus.REVOKED);
        assertThat(codes(r.orders())).containsExactly("5909-7", IMMUNOPHENOTYPE, BCR_ABL);
    }

    @Test
    void aPreliminaryResultCountsAsDone() {
        TestRecord r = allButCbcDone();
        r.normalCbc(ago(1));
        r.resources().stream().filter(x -> x instanceof Observation).map(x -> (Observation) x)
                .forEach(o -> o.setStatus(Observation.ObservationStatus.PRELIMINARY));
        assertThat(fires(r.orders())).isFalse();

        TestRecord registered = allButCbcDone();
        registered.normalCbc(ago(1));
        registered.resources().stream().filter(x -> x instanceof Observation).map(x -> (Observation) x)
                .forEach(o -> o.setStatus(Observation.ObservationStatus.REGISTERED));
        assertThat(codes(registered.orders())).containsExactlyElementsOf(ALL_MARROW_TESTS);
    }

    @Test
    void doNotPerformOrdersNeitherTriggerNorCount() {
        TestRecord r = patient();
        r.selectedDraft(SCT, "49401003").setDoNotPerform(true);
        assertThat(fires(r.orders())).isFalse();

        TestRecord q = allButCbcDone();
        q.draft(LOINC, CBC_PANEL).setDoNotPerform(true);
        assertThat(codes(q.orders())).containsExactly(CBC_PANEL);
    }

    // ---------------------------------------------------------------- item 24: never a card without suggestions

    @Test
    void aMissingCompanionWithoutAnOrderableCodeAloneGivesNoCard() {
        TestRecord r = allButCbcDone();
        r.normalCbc(ago(1));
        r.resources().removeIf(x -> x instanceof ServiceRequest s && s.getCode().getCodingFirstRep().getCode().equals("mrd"));
        Map<String, Object> o = r.orders();
        assertThat(fires(o)).as("only MRD (no orderable code) is missing").isFalse();
        assertThat((List<?>) o.get("Order Companions Tests")).isEmpty();
        assertThat((List<?>) o.get("Order Companions Findings")).isEmpty();
    }
}
