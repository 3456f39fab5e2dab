package org.allcds.cql;

import static org.allcds.cql.TestRecord.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.Test;

/**
 * Property-style check over generated histories (counts, marrows, CSF, MRD, recorded status), fixed seed:
 * the definitions that decide the cards never depend on entry order or duplicated entries; never
 * status-remission beside a relapse or refractory card; never a remission claim while the latest marrow
 * day holds a result >= 5 %; every evidence reference names a resource of the record.
 */
class GeneratedRecordsPropertyTest {

    static final int RECORDS = 400;

    /** The definitions that decide the cards: each card's Fires and Evidence, and the relapse extension. */
    static final List<String> DECIDING = new ArrayList<>();
    static {
        for (String card : AllDiseaseStatusTest.CARDS) {
            DECIDING.add(card + " Fires");
            DECIDING.add(card + " Evidence");
        }
        DECIDING.addAll(List.of("Relapse Site", "Relapse Timing", "Months Since Remission", "Relapse Review Treatment Options"));
    }

    @Test
    void cardsDependOnlyOnTheRecordNeverOnItsOrder() {
        Random random = new Random(18_2026L);
        CqlLogic logic = TestRecord.logic();
        for (int i = 0; i < RECORDS; i++) {
            TestRecord r = generate(random);
            List<Resource> shuffled = new ArrayList<>(r.resources());
            for (Resource dup : r.resources()) {
                if (random.nextInt(6) == 0) {
                    shuffled.add(dup); // the same entry sent twice
                }
            }
            Collections.shuffle(shuffled, random);
            Map<String, Object> asWritten = logic.evaluate("ALLDiseaseStatus", Set.copyOf(DECIDING), r.record(), Map.of(), NOW);
            Map<String, Object> reordered = logic.evaluate("ALLDiseaseStatus", Set.copyOf(DECIDING), r.record(shuffled), Map.of(), NOW);
            String label = "record " + i;
            for (String def : DECIDING) {
                assertThat(comparable(reordered.get(def))).as("%s: %s", label, def).isEqualTo(comparable(asWritten.get(def)));
            }
            boolean status = Boolean.TRUE.equals(asWritten.get("Remission Status Fires"));
            boolean relapseOrRefractory = Boolean.TRUE.equals(asWritten.get("Relapse Review Fires"))
                    || Boolean.TRUE.equals(asWritten.get("Refractory Review Fires"));
            assertThat(status && relapseOrRefractory).as("%s: status-remission beside a relapse/refractory card", label).isFalse();
            if (status) {
                assertThat(latestMarrowDayMax(r)).as("%s: remission claimed over a marrow >= 5 %%", label)
                        .isLessThan(5.0);
            }
            Set<String> ids = new HashSet<>();
            r.resources().forEach(res -> ids.add(res.fhirType() + "/" + res.getIdElement().getIdPart()));
            for (String def : DECIDING) {
                if (def.endsWith(" Evidence")) {
                    @SuppressWarnings("unchecked")
                    List<String> evidence = (List<String>) asWritten.get(def);
                    assertThat(ids).as("%s: %s names only resources of the record", label, def).containsAll(evidence);
                }
            }
        }
    }

    /** Lists compare as sets (a definition's order follows its data); other values as they are. */
    private static Object comparable(Object value) {
        return value instanceof Collection<?> c ? new HashSet<>(c) : value;
    }

    private static double latestMarrowDayMax(TestRecord r) {
        TreeMap<LocalDate, Double> maxByDay = new TreeMap<>();
        for (Resource res : r.resources()) {
            if (res instanceof Observation o && MARROW_BLASTS.equals(o.getCode().getCodingFirstRep().getCode())) {
                LocalDate day = LocalDate.parse(o.getEffectiveDateTimeType().getValueAsString().substring(0, 10));
                if (!day.isAfter(TODAY)) {
                    maxByDay.merge(day, o.getValueQuantity().getValue().doubleValue(), Math::max);
                }
            }
        }
        return maxByDay.isEmpty() ? 0 : maxByDay.lastEntry().getValue();
    }

    private static final double[] MARROWS = { 0.5, 2, 4.9, 5, 12, 40 };

    /** One random ALL history: diagnosis, then marrows, blood counts, CSF, MRD and a recorded status. */
    static TestRecord generate(Random random) {
        int dx = 40 + random.nextInt(2000);
        TestRecord r = TestRecord.aged(2 + random.nextInt(60)).bAll(ago(dx));
        int events = 2 + random.nextInt(10);
        for (int e = 0; e < events; e++) {
            LocalDate day = ago(random.nextInt(dx + 1));
            switch (random.nextInt(9)) {
                case 0, 1 -> {
                    r.marrow(MARROWS[random.nextInt(MARROWS.length)], day);
                    if (random.nextInt(4) == 0) {
                        r.marrow(MARROWS[random.nextInt(MARROWS.length)], day); // a same-day second count
                    }
                    if (random.nextBoolean()) {
                        r.normalCbc(day.plusDays(random.nextInt(5)));
                    }
                }
                case 2, 3 -> r.normalCbc(day);
                case 4 -> r.cbc(random.nextBoolean() ? 0.4 : 2.0, random.nextBoolean() ? 40 : 160,
                        random.nextBoolean() ? 8 : 12, day);
                case 5 -> {
                    switch (random.nextInt(3)) {
                        case 0 -> r.quantity(WBC, 3 + random.nextInt(30), "10*9/L", day);
                        case 1 -> r.quantity(BLOOD_BLASTS, random.nextInt(3) * 4, "%", day);
                        default -> r.quantity(PLT, 40 + random.nextInt(200), "10*9/L", day);
                    }
                }
                case 6 -> {
                    if (random.nextBoolean()) {
                        r.cnsPositive(day);
                    } else {
                        r.quantity(CSF_BLASTS, 0, "%", day);
                        r.quantity(CSF_WBC, 1, "/uL", day);
                    }
                }
                case 7 -> r.quantity("mrd", random.nextBoolean() ? 0.5 : 0.001, "%", day)
                        .getCode().getCodingFirstRep().setSystem(LAB);
                default -> {
                    String code = random.nextBoolean() ? "C91.01" : "C91.02";
                    r.condition(ICD10, code, null, "active").setRecordedDate(java.sql.Date.valueOf(day));
                }
            }
        }
        return r;
    }

    @Test
    void generatorCoversTheInterestingStates() {
        Random random = new Random(18_2026L);
        CqlLogic logic = TestRecord.logic();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 120; i++) {
            Map<String, Object> s = logic.evaluate("ALLDiseaseStatus", Set.copyOf(DECIDING), generate(random).record(), Map.of(), NOW);
            for (String card : AllDiseaseStatusTest.CARDS) {
                if (Boolean.TRUE.equals(s.get(card + " Fires"))) {
                    seen.add(card);
                }
            }
        }
        assertThat(seen).as("the generated records reach the cards the properties are about")
                .contains("Relapse Review", "Refractory Review", "Remission Status", "Data Conflict");
    }

}
