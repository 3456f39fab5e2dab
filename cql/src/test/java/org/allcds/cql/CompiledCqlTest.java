package org.allcds.cql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.fhir.ucum.Decimal;
import org.hl7.elm.r1.ExpressionDef;
import org.hl7.elm.r1.Library;
import org.hl7.elm.r1.Literal;
import org.hl7.elm.r1.Power;
import org.hl7.elm.r1.VersionedIdentifier;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.Test;
import org.opencds.cqf.cql.engine.elm.executing.ConvertQuantityEvaluator;
import org.opencds.cqf.cql.engine.elm.executing.GreaterOrEqualEvaluator;
import org.opencds.cqf.cql.engine.elm.executing.LessOrEqualEvaluator;
import org.opencds.cqf.cql.engine.runtime.Date;
import org.opencds.cqf.cql.engine.runtime.Precision;
import org.opencds.cqf.cql.engine.runtime.Tuple;
import org.opencds.cqf.cql.engine.runtime.Quantity;

/**
 * The compiled ELM against the CQL engine's own interpreter: every definition of every library, on
 * every fixture and on a long record built from one, must have the same value both ways. (Each CQL
 * unit case checks the same through {@link TestRecord#eval}.)
 */
class CompiledCqlTest {

    private static final CqlLogic LOGIC = TestRecord.logic();

    @Test
    void theProjectsElmIsCompiled() {
        assertThat(LOGIC.isCompiled()).isTrue();
    }

    @Test
    void everyDefinitionOnEveryFixtureHasTheEnginesValue() {
        List<Fixture> fixtures = FixtureCatalog.load();
        assertThat(fixtures).hasSizeGreaterThan(20);
        int compared = 0;
        for (Fixture f : fixtures) {
            compared += compareAll(f.resource(), record(f, 0));
        }
        assertThat(compared).as("definitions compared").isGreaterThan(fixtures.size() * 100);
    }

    @Test
    void everyDefinitionOnALongRecordHasTheEnginesValue() {
        // Many results of every kind, on many days: sorting, nearest counts, windows, latest values.
        Fixture f = FixtureCatalog.load().stream().filter(x -> x.resource().contains("late-marrow-relapse"))
                .findFirst().orElseThrow();
        compareAll(f.resource() + " x40", record(f, 40));
    }

    @Test
    void parameterOverridesReachTheCompiledElmAsTheyReachTheEngine() {
        Fixture f = FixtureCatalog.load().stream().filter(x -> x.resource().contains("late-marrow-relapse"))
                .findFirst().orElseThrow();
        PatientRecord record = record(f, 0);
        Map<String, Object> overrides = Map.of("Early Relapse Months", 60, "Marrow Blast Threshold Percent",
                new BigDecimal("25"));
        for (String library : LOGIC.libraryNames()) {
            Set<String> names = LOGIC.definitionNames(library);
            Map<String, Object> compiled = LOGIC.evaluate(library, names, record, overrides, TestRecord.NOW);
            assertThat(compiled).as(library).isEqualTo(
                    LOGIC.evaluateWithEngine(library, names, record, overrides, TestRecord.NOW));
            if (library.equals("ALLDiseaseStatus")) {
                assertThat(compiled).as(library + ": the overrides change something")
                        .isNotEqualTo(LOGIC.evaluate(library, names, record, Map.of(), TestRecord.NOW));
            }
        }
    }

    @Test
    void anElmConstructNotCompiledIsRefusedAtStartUpNotAtRunTime() {
        Library library = new Library().withIdentifier(new VersionedIdentifier().withId("Odd").withVersion("1"))
                .withStatements(new Library.Statements().withDef(new ExpressionDef().withName("X").withContext("Patient")
                        .withExpression(new Power().withOperand(integer("2"), integer("3")))));
        FastR4ModelResolver resolver = new FastR4ModelResolver(ca.uhn.fhir.context.FhirContext.forR4Cached());
        assertThatThrownBy(() -> CompiledCql.compile(Map.of("Odd", library),
                new org.opencds.cqf.cql.engine.execution.Environment(null), resolver))
                .isInstanceOf(CompiledCql.UnsupportedElm.class)
                .hasMessageContaining("Power");
    }

    @Test
    void unitConversionByCachedFactorEqualsTheEnginesConversion() throws Exception {
        CachingUcumService ucum = new CachingUcumService(new org.fhir.ucum.UcumEssenceService(
                CachingUcumService.class.getClassLoader().getResourceAsStream("ucum-essence.xml")));
        String[][] pairs = {{"10*9/L", "10*9/L"}, {"10*3/uL", "10*9/L"}, {"/uL", "10*9/L"}, {"/mm3", "10*9/L"},
                {"g/L", "g/dL"}, {"g/dL", "g/dL"}, {"mmol/L", "mmol/L"}, {"%", "%"}, {"/uL", "/uL"}, {"10*6/L", "/uL"}};
        String[] values = {"0", "0.0", "1", "1.50", "12.3", "100", "250", "1000", "0.001", "7.25", "13.80", "123456.789",
                "1E+3", "0.0004", "0.000001", "0.0000001", "0.00000010", "-0.0000012", "0E-7", "0.0000000", "1.0E+1",
                "123E-9", "-5", "99999999999999999999.5"};
        int byFactor = 0;
        for (String[] pair : pairs) {
            for (String v : values) {
                Quantity q = new Quantity().withValue(new BigDecimal(v)).withUnit(pair[0]);
                Quantity engine = (Quantity) ConvertQuantityEvaluator.convertQuantity(q, pair[1], ucum);
                BigDecimal fast = ucum.convertByFactor(new BigDecimal(v), pair[0], pair[1]);
                if (fast != null) { // null: the compiled ELM asks the engine's evaluator instead
                    byFactor++;
                    assertThat(engine).as("%s %s -> %s", v, pair[0], pair[1]).isNotNull();
                    assertThat(fast).as("%s %s -> %s", v, pair[0], pair[1]).isEqualTo(engine.getValue());
                    assertThat(fast.scale()).isEqualTo(engine.getValue().scale());
                }
            }
        }
        // every pair converts by a factor; a value defers exactly when BigDecimal prints it in exponent form
        long plain = java.util.Arrays.stream(values).filter(v -> !new BigDecimal(v).toString().contains("E")).count();
        assertThat(byFactor).isEqualTo(pairs.length * (int) plain);
        // UCUM Essence does not read exponent notation, so the engine answers null; the fast path defers.
        assertThat(ConvertQuantityEvaluator.convertQuantity(new Quantity().withValue(new BigDecimal("1E+3"))
                .withUnit("g/L"), "g/dL", ucum)).isNull();
        assertThat(ucum.convertByFactor(new BigDecimal("1E+3"), "g/L", "g/dL")).isNull();
        assertThat(ucum.convertByFactor(BigDecimal.ONE, "Cel", "[degF]")).as("not a plain factor").isNull();
        assertThat(ucum.convertByFactor(BigDecimal.ONE, "g/L", "10*9/L")).as("refused").isNull();
        assertThat(new Decimal("1").asDecimal()).isEqualTo("1");
    }

    @Test
    void distinctKeepsTheEnginesFirstOccurrencesInOrder() {
        org.opencds.cqf.cql.engine.execution.State state = new org.opencds.cqf.cql.engine.execution.State(
                new org.opencds.cqf.cql.engine.execution.Environment(null));
        List<Object> days = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            days.add(new Date(java.time.LocalDate.of(2025, 3, 1).plusDays((i * 7) % 23), Precision.DAY));
        }
        List<Object> distinctDays = CompiledCql.distinct(days, state);
        assertThat(distinctDays).hasSize(23)
                .isEqualTo(org.opencds.cqf.cql.engine.elm.executing.DistinctEvaluator.distinct(days, state));
        // Not every element a day (a month, a null): the engine decides what is equal.
        List<Object> mixed = new ArrayList<>(days);
        mixed.add(3, new Date(2025, 3));
        mixed.add(null);
        mixed.add(new Date(2025, 3));
        assertThat(CompiledCql.distinct(mixed, state))
                .isEqualTo(org.opencds.cqf.cql.engine.elm.executing.DistinctEvaluator.distinct(mixed, state));
    }

    @Test
    void aDateRangeOverASortedListVisitsEveryElementAFullScanWouldKeepInListOrder() {
        org.opencds.cqf.cql.engine.execution.State state = new org.opencds.cqf.cql.engine.execution.State(
                new org.opencds.cqf.cql.engine.execution.Environment(null));
        List<Object> rows = new ArrayList<>();
        rows.add(row(null, "no date"));
        rows.add(row(new Date(2025, 3), "March, to the month"));
        for (int day = 1; day <= 28; day += 3) {
            rows.add(row(new Date(2025, 3, day), "3/" + day));
            rows.add(row(new Date(2025, 3, day), "3/" + day + " again"));
        }
        rows.add(row(new Date(2025, 4), "April, to the month"));
        rows.add(row(new Date(2025, 4, 2), "4/2"));
        rows.sort(new org.opencds.cqf.cql.engine.runtime.CqlList(state, "date").columnSort);
        CompiledCql.ColumnSortedList list = new CompiledCql.ColumnSortedList("date", rows);
        int narrowed = 0;
        for (int lo = 0; lo <= 33; lo += 2) {
            for (int len = 0; len <= 12; len += 3) {
                Date low = new Date(java.time.LocalDate.of(2025, 2, 27).plusDays(lo), Precision.DAY);
                Date high = new Date(java.time.LocalDate.of(2025, 2, 27).plusDays(lo + len), Precision.DAY);
                List<Object> kept = new ArrayList<>(); // what the where's two comparisons let through in a full scan
                for (Object row : rows) {
                    Object d = ((Tuple) row).getElement("date");
                    if (Boolean.TRUE.equals(GreaterOrEqualEvaluator.greaterOrEqual(d, low, state))
                            && Boolean.TRUE.equals(LessOrEqualEvaluator.lessOrEqual(d, high, state))) {
                        kept.add(row);
                    }
                }
                List<Object> visited = new ArrayList<>();
                list.candidates(true, low, true, high, state).forEach(visited::add);
                assertThat(visited).as("%s..%s", low, high).containsAll(kept);
                assertThat(visited).as("in list order").isSubsetOf(rows).isEqualTo(
                        rows.stream().filter(visited::contains).toList());
                // Visited beyond the kept ones: only rows whose date is not to the day.
                visited.removeAll(kept);
                assertThat(visited).allSatisfy(row -> assertThat(((Tuple) row).getElement("date"))
                        .satisfiesAnyOf(d -> assertThat(d).isNull(),
                                d -> assertThat(((Date) d).getPrecision()).isNotEqualTo(Precision.DAY)));
                if (visited.size() + kept.size() < rows.size()) {
                    narrowed++;
                }
            }
        }
        assertThat(narrowed).as("ranges that skipped rows").isGreaterThan(50);
        // A bound not to the day, or an open bound: nothing is skipped for it.
        assertThat(list.candidates(true, new Date(2025, 3), true, new Date(2025, 3, 5), state)).isSameAs(list);
        List<Object> fromMarch10 = new ArrayList<>();
        list.candidates(true, new Date(2025, 3, 10), false, null, state).forEach(fromMarch10::add);
        assertThat(fromMarch10).hasSize(rows.size() - 6); // all but 3/1, 3/4 and 3/7, two rows each
    }

    @Test
    void aListWhoseDaysAreNotInOrderIsScannedWhole() {
        org.opencds.cqf.cql.engine.execution.State state = new org.opencds.cqf.cql.engine.execution.State(
                new org.opencds.cqf.cql.engine.execution.Environment(null));
        CompiledCql.ColumnSortedList list = new CompiledCql.ColumnSortedList("date",
                List.of(row(new Date(2025, 3, 9), "a"), row(new Date(2025, 3, 1), "b")));
        assertThat(list.candidates(true, new Date(2025, 3, 5), true, new Date(2025, 3, 6), state)).isSameAs(list);
    }

    private static Tuple row(Date date, String label) {
        java.util.LinkedHashMap<String, Object> elements = new java.util.LinkedHashMap<>();
        elements.put("date", date);
        elements.put("label", label);
        return new Tuple().withElements(elements);
    }

    // ---------------------------------------------------------------- helpers

    private static Literal integer(String v) {
        return new Literal().withValueType(new javax.xml.namespace.QName("urn:hl7-org:elm-types:r1", "Integer"))
                .withValue(v);
    }

    private static int compareAll(String what, PatientRecord record) {
        int compared = 0;
        for (String library : LOGIC.libraryNames()) {
            Set<String> names = LOGIC.definitionNames(library);
            Map<String, Object> compiled = LOGIC.evaluate(library, names, record, Map.of(), TestRecord.NOW);
            Map<String, Object> engine = LOGIC.evaluateWithEngine(library, names, record, Map.of(), TestRecord.NOW);
            for (String name : names) {
                assertThat(compiled.get(name)).as("%s: %s.\"%s\"", what, library, name).isEqualTo(engine.get(name));
                compared++;
            }
        }
        return compared;
    }

    /** A fixture's record; with copies > 0, every observation again every 14 days back, copies times. */
    static PatientRecord record(Fixture f, int copies) {
        List<Resource> resources = new ArrayList<>();
        f.toR4Bundle(TestRecord.TODAY).getEntry().forEach(e -> resources.add(e.getResource()));
        if (f.draftOrders() != null) {
            Bundle drafts = Fixture.strictParser().parseResource(Bundle.class, f.draftOrders(TestRecord.TODAY).toString());
            drafts.getEntry().forEach(e -> resources.add(e.getResource()));
        }
        Patient patient = (Patient) resources.stream().filter(r -> r instanceof Patient).findFirst().orElseThrow();
        List<Resource> rest = new ArrayList<>(resources.stream().filter(r -> !(r instanceof Patient)).toList());
        for (int k = 1; k <= copies; k++) {
            for (Resource r : resources) {
                if (r instanceof Observation o && o.getEffective() instanceof DateTimeType when) {
                    Observation copy = o.copy();
                    copy.setId(o.getIdElement().getIdPart() + "-c" + k);
                    DateTimeType earlier = when.copy();
                    earlier.add(java.util.Calendar.DATE, -14 * k);
                    copy.setEffective(earlier);
                    rest.add(copy);
                }
            }
        }
        return PatientRecord.of(patient, rest);
    }
}
