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
import org.hl7.elm.r1.Multiply;
import org.hl7.elm.r1.VersionedIdentifier;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.Test;
import org.opencds.cqf.cql.engine.elm.executing.ConvertQuantityEvaluator;
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
                        .withExpression(new Multiply().withOperand(integer("2"), integer("3")))));
        FastR4ModelResolver resolver = new FastR4ModelResolver(ca.uhn.fhir.context.FhirContext.forR4Cached());
        assertThatThrownBy(() -> CompiledCql.compile(Map.of("Odd", library),
                new org.opencds.cqf.cql.engine.execution.Environment(null), resolver))
                .isInstanceOf(CompiledCql.UnsupportedElm.class)
                .hasMessageContaining("Multiply");
    }

    @Test
    void unitConversionByCachedFactorEqualsTheEnginesConversion() throws Exception {
        CachingUcumService ucum = new CachingUcumService(new org.fhir.ucum.UcumEssenceService(
                CachingUcumService.class.getClassLoader().getResourceAsStream("ucum-essence.xml")));
        String[][] pairs = {{"10*9/L", "10*9/L"}, {"10*3/uL", "10*9/L"}, {"/uL", "10*9/L"}, {"/mm3", "10*9/L"},
                {"g/L", "g/dL"}, {"g/dL", "g/dL"}, {"mmol/L", "mmol/L"}, {"%", "%"}, {"/uL", "/uL"}, {"10*6/L", "/uL"}};
        String[] values = {"0", "0.0", "1", "1.50", "12.3", "100", "250", "1000", "0.001", "7.25", "13.80", "123456.789",
                "1E+3", "0.0004"};
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
        assertThat(byFactor).isGreaterThan(pairs.length * (values.length - 2));
        // UCUM Essence does not read exponent notation, so the engine answers null; the fast path defers.
        assertThat(ConvertQuantityEvaluator.convertQuantity(new Quantity().withValue(new BigDecimal("1E+3"))
                .withUnit("g/L"), "g/dL", ucum)).isNull();
        assertThat(ucum.convertByFactor(new BigDecimal("1E+3"), "g/L", "g/dL")).isNull();
        assertThat(ucum.convertByFactor(BigDecimal.ONE, "Cel", "[degF]")).as("not a plain factor").isNull();
        assertThat(ucum.convertByFactor(BigDecimal.ONE, "g/L", "10*9/L")).as("refused").isNull();
        assertThat(new Decimal("1").asDecimal()).isEqualTo("1");
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
    private static PatientRecord record(Fixture f, int copies) {
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
