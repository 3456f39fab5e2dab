package org.allcds.cql;

import static org.allcds.cql.TestRecord.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.ServiceRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Unit cases for ALLOrderFollowup (dx-order-companions). */
class AllOrderFollowupTest {

    @SuppressWarnings("unchecked")
    static List<String> codes(Map<String, Object> r) {
        return ((List<Object>) r.get("Order Companions Tests")).stream()
                .map(t -> (String) ((Map<String, Object>) t).get("code")).toList();
    }

    static boolean fires(Map<String, Object> r) {
        assertThat(r.get("Order Companions Fires")).isNotNull();
        return (Boolean) r.get("Order Companions Fires");
    }

    @Test
    void draftMarrowOrderProposesAllMarrowCompanions() {
        TestRecord r = TestRecord.aged(30).bAll(ago(400));
        ServiceRequest sr = r.draft(SCT, "49401003");
        Map<String, Object> o = r.orders();
        assertThat(fires(o)).isTrue();
        assertThat(codes(o)).containsExactly(CBC_PANEL, "5909-7", IMMUNOPHENOTYPE, KARYOTYPE, BCR_ABL);
        // MRD has only a local code: named in the findings, never a ServiceRequest suggestion
        assertThat(o.get("Order Companions Findings").toString()).contains("No standard test code exists for: Measurable residual disease");
        assertThat(o.get("Order Companions Evidence").toString()).contains("ServiceRequest/" + sr.getIdElement().getIdPart());
        assertThat(o.get("Order Companions Findings").toString()).contains("bone marrow");
    }

    @Test
    void companionsAlreadyDraftedOrRecentlyResultedAreLeftOut() {
        TestRecord r = TestRecord.aged(30).bAll(ago(400));
        r.draft(SCT, "234326005");
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
        TestRecord r = TestRecord.aged(30).bAll(ago(400));
        r.draft(SCT, "49401003");
        r.normalCbc(ago(days));
        assertThat(codes(r.orders()).contains(CBC_PANEL)).isEqualTo(proposed);
    }

    @Test
    void draftLumbarPunctureProposesCsfCounts() {
        TestRecord r = TestRecord.aged(30).bAll(ago(400));
        r.draft(SCT, "277762005");
        r.quantity(CSF_WBC, 2, "/uL", ago(3)); // a previous LP's count does not cover the new sample
        Map<String, Object> o = r.orders();
        assertThat(fires(o)).isTrue();
        assertThat(codes(o)).containsExactly(CSF_WBC, CSF_BLASTS);

        TestRecord q = TestRecord.aged(30).bAll(ago(400));
        q.draft(SCT, "277762005");
        q.draft(LOINC, CSF_WBC);
        q.draft(LOINC, CSF_BLASTS);
        assertThat(fires(q.orders())).isFalse();
    }

    @Test
    void noCardWithoutAllOrWithoutADraftExam() {
        TestRecord noAll = TestRecord.aged(30);
        noAll.draft(SCT, "49401003");
        Map<String, Object> o = noAll.orders();
        assertThat(fires(o)).isFalse();
        assertThat((List<?>) o.get("Order Companions Tests")).isEmpty();

        TestRecord active = TestRecord.aged(30).bAll(ago(400));
        active.order(SCT, "49401003", ServiceRequest.ServiceRequestStatus.ACTIVE); // not a draft of this call
        active.draft(LOINC, CBC_PANEL); // a draft, but not a marrow or CSF exam
        assertThat(fires(active.orders())).isFalse();
        assertThat(active.orders().get("Has ALL")).isEqualTo(true);
    }
}
