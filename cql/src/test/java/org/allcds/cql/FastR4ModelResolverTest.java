package org.allcds.cql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import ca.uhn.fhir.context.BaseRuntimeChildDefinition;
import ca.uhn.fhir.context.BaseRuntimeElementCompositeDefinition;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeChildChoiceDefinition;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IPrimitiveType;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.DateType;
import org.hl7.fhir.r4.model.Enumerations.AdministrativeGender;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.Procedure;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.ServiceRequest;
import org.hl7.fhir.r4.model.SimpleQuantity;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.Test;
import org.opencds.cqf.cql.engine.fhir.model.R4FhirModelResolver;

/**
 * {@link FastR4ModelResolver} must read every property exactly as the engine's stock R4 resolver does: the
 * same HAPI object (identity), the same list elements, or an equal converted value.
 */
class FastR4ModelResolverTest {

    private static final FhirContext CONTEXT = FhirContext.forR4Cached();

    /** The stock resolver on the shared context (its FhirContext constructor is protected). */
    private static final class StockResolver extends R4FhirModelResolver {
        StockResolver(FhirContext context) {
            super(context);
        }
    }

    private static final R4FhirModelResolver STOCK = new StockResolver(CONTEXT);
    private final FastR4ModelResolver fast = new FastR4ModelResolver(CONTEXT);

    // ------------------------------------------------------------------ whole resources, every property

    @Test
    void everyPropertyOfEveryFixtureResourceReadsAsWithTheStockResolver() {
        List<Resource> resources = fixtureResources();
        assertThat(resources).hasSizeGreaterThan(100);
        Walk walk = compareAll(resources);
        // The comparison must have met the shapes that matter, or it proves nothing.
        assertThat(walk.lists).as("list properties with 2+ items").isPositive();
        assertThat(walk.typedChoices).as("typed choice reads with a value (valueQuantity...)").isPositive();
        assertThat(walk.convertedPrimitives).as("primitive values converted (dates)").isPositive();
    }

    @Test
    void everyPropertyOfHandBuiltEdgeCasesReadsAsWithTheStockResolver() {
        Walk walk = compareAll(handBuilt());
        assertThat(walk.lists).isPositive();
        assertThat(walk.typedChoices).isPositive();
    }

    @Test
    void aPropertyIsReadFromEachInstanceNotFromTheFirstOneSeen() {
        Observation first = quantityObservation("1", 5.0);
        Observation second = quantityObservation("2", 7.0);
        Observation none = new Observation();
        assertThat(fast.resolvePath(first, "valueQuantity")).isSameAs(first.getValue());
        assertThat(fast.resolvePath(second, "valueQuantity")).isSameAs(second.getValue());
        assertThat(fast.resolvePath(none, "valueQuantity")).isNull();
        assertThat(fast.resolvePath(first, "valueCodeableConcept")).isNull();
        assertThat(fast.resolvePath(first, "value")).isSameAs(first.getValue());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aRepeatingPropertyIsTheWholeList() {
        CodeableConcept code = new CodeableConcept().addCoding(new Coding("s", "a", null)).addCoding(new Coding("s", "b", null));
        Object coding = fast.resolvePath(code, "coding");
        assertThat(coding).isInstanceOf(List.class);
        assertSameResult(coding, STOCK.resolvePath(code, "coding"), "CodeableConcept.coding");
        assertThat((List<Object>) coding).containsExactlyElementsOf(code.getCoding());
    }

    // ------------------------------------------------------------------ paths the fast resolver hands to the stock code

    @Test
    void valuesOfPrimitivesAreConvertedAsByTheStockResolver() {
        Observation.ObservationStatus status = Observation.ObservationStatus.FINAL;
        List<IBase> primitives = List.of(new DateTimeType("2025-05-01T10:15:00Z"), new DateTimeType("2025-05"),
                new DateType("2025-05-01"), new InstantType("2025-05-01T10:15:00.123Z"), new StringType("text"),
                new DateTimeType("2025-05-01T23:30:00+05:30"), new DateTimeType("2025-03-30T02:30:00-04:00"),
                new DateTimeType("2025-05-01T10:15:07.250-03:00"), new DateTimeType("2025"), new DateType("2025-05"),
                new DateType("1500-03-01"), new DateTimeType("1582-10-10T12:00:00Z"), new DateTimeType("1583-01-01"),
                new DateType(java.sql.Date.valueOf("2025-05-01")), // a java.sql.Date has no toInstant()
                new DateTimeType("2025-05-01T10:15:00+01:23"), new DateTimeType("2025-05-01T10:15:59.999-09:30"),
                new DateTimeType("2025-05-01T00:00:00+14:00"), new DateTimeType("2025-12-31T23:59:59-12:00"),
                new InstantType("2025-05-01T10:15:00+05:45"),
                new Observation().setStatus(status).getStatusElement(), new DateTimeType());
        for (IBase p : primitives) {
            assertSameResult(fast.resolvePath(p, "value"), STOCK.resolvePath(p, "value"), p.fhirType() + ".value");
            assertSameResult(fast.pathReader(p, "value").apply(p), STOCK.resolvePath(p, "value"),
                    p.fhirType() + ".value by pathReader " + p);
        }
        assertThat(fast.resolvePath(new Observation().setStatus(status).getStatusElement(), "value")).isEqualTo("final");
        assertThat(fast.resolvePath(new StringType("text"), "value")).isEqualTo("text");
        assertThat(fast.resolvePath(new DateTimeType(), "value")).isNull();
    }

    @Test
    void extensionOfAPrimitiveIsItsExtensionList() {
        DateType birthDate = new DateType("2010-01-01");
        birthDate.addExtension(new Extension("urn:ext", new StringType("x")));
        Object extensions = fast.resolvePath(birthDate, "extension");
        assertThat(extensions).isSameAs(birthDate.getExtension());
        assertSameResult(extensions, STOCK.resolvePath(birthDate, "extension"), "date.extension");
    }

    @Test
    void aResourceReadByItsOwnTypeNameIsItself() {
        Observation o = quantityObservation("1", 5.0);
        assertThat(fast.resolvePath(o, "Observation")).isSameAs(o);
        assertThat(STOCK.resolvePath(o, "Observation")).isSameAs(o);
        Patient p = new Patient();
        assertThat(fast.resolvePath(p, "Patient")).isSameAs(p);
    }

    @Test
    void unknownPropertyReadsAsWithTheStockResolver() {
        for (IBase target : List.<IBase>of(quantityObservation("1", 5.0), new Observation(), new Quantity(), new Patient())) {
            assertSameOutcome(target, "noSuchProperty");
        }
        assertThat(fast.resolvePath(new Observation(), "noSuchProperty")).isNull();
    }

    @Test
    void dottedAndIndexedPathsReadAsWithTheStockResolver() {
        Observation o = quantityObservation("1", 5.0);
        o.getCode().addCoding(new Coding("s", "second", null));
        o.addReferenceRange().setLow(new SimpleQuantity().setValue(1));
        for (String path : List.of("code.coding", "code.coding[1]", "code.coding[1].code", "valueQuantity.value",
                "value.unit", "effective.value", "subject.reference", "referenceRange.low", "code.noSuchProperty")) {
            assertSameOutcome(o, path);
        }
        assertThat(fast.resolvePath(o, "code.coding")).isSameAs(o.getCode().getCoding());
        assertThat(fast.resolvePath(o, "code.coding[1].code")).isSameAs(o.getCode().getCoding().get(1).getCodeElement());
        assertThat(fast.resolvePath(o, "valueQuantity.value")).isSameAs(o.getValueQuantity().getValueElement());
    }

    @Test
    void nullTargetReadsAsNull() {
        assertThat(fast.resolvePath(null, "value")).isNull();
        assertThat(STOCK.resolvePath(null, "value")).isNull();
        assertThat(fast.resolvePath(null, "code.coding")).isNull();
    }

    /**
     * A name that is a proper prefix of a choice element's name ({@code val}, {@code eff}, or {@code ""}, which
     * prefixes {@code extension}) is matched to the choice by the stock {@code resolveChoiceProperty}, which answers
     * null when the choice is empty and fails when it has a value. The fast resolver leaves such names to the stock
     * code (it once failed on the empty choice too). The CQL translator never produces such a path.
     */
    @Test
    void choicePrefixOnAnEmptyChoiceReadsAsWithTheStockResolver() {
        for (String prefix : List.of("val", "eff", "")) {
            assertSameOutcome(new Observation(), prefix);
        }
    }

    // ------------------------------------------------------------------ the walk

    /** Counts of what the walk compared, to show it met real data. */
    private static final class Walk {
        int comparisons;
        int lists;
        int typedChoices;
        int convertedPrimitives;
        final Set<IBase> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    }

    private Walk compareAll(List<? extends Resource> resources) {
        Walk walk = new Walk();
        for (Resource r : resources) {
            visit(r, r.fhirType() + "/" + r.getIdElement().getIdPart(), walk);
        }
        assertThat(walk.comparisons).isPositive();
        return walk;
    }

    private void visit(IBase element, String where, Walk walk) {
        if (!walk.seen.add(element)) {
            return;
        }
        if (element instanceof IPrimitiveType<?>) {
            for (String name : List.of("value", "extension", "id")) {
                Object expected = assertSameOutcome(element, name, where);
                if ("value".equals(name) && expected != null && !(expected instanceof IBase)
                        && expected != ((IPrimitiveType<?>) element).getValue()) {
                    walk.convertedPrimitives++;
                }
                walk.comparisons++;
            }
            return;
        }
        BaseRuntimeElementCompositeDefinition<?> definition = definition(element);
        Set<String> names = new LinkedHashSet<>();
        for (BaseRuntimeChildDefinition child : definition.getChildrenAndExtension()) {
            names.add(child.getElementName());
            names.addAll(child.getValidChildNames());
        }
        names.add(element.fhirType());
        names.add("noSuchProperty");
        for (String name : names) {
            Object expected = assertSameOutcome(element, name, where);
            walk.comparisons++;
            if (expected instanceof List<?> l && l.size() > 1) {
                walk.lists++;
            }
            if (expected != null && isTypedChoiceName(definition, name)) {
                walk.typedChoices++;
            }
        }
        for (BaseRuntimeChildDefinition child : definition.getChildrenAndExtension()) {
            List<IBase> values = child.getAccessor().getValues(element);
            for (int i = 0; i < values.size(); i++) {
                visit(values.get(i), where + "." + child.getElementName() + "[" + i + "]", walk);
            }
        }
    }

    private static boolean isTypedChoiceName(BaseRuntimeElementCompositeDefinition<?> definition, String name) {
        BaseRuntimeChildDefinition child = definition.getChildByName(name);
        return child instanceof RuntimeChildChoiceDefinition && !child.getElementName().equals(name);
    }

    private static BaseRuntimeElementCompositeDefinition<?> definition(IBase element) {
        return element instanceof IBaseResource r
                ? CONTEXT.getResourceDefinition(r)
                : (BaseRuntimeElementCompositeDefinition<?>) CONTEXT.getElementDefinition(element.getClass());
    }

    private void assertSameOutcome(IBase target, String path) {
        assertSameOutcome(target, path, target.fhirType());
    }

    /** Both resolvers give the same result, or both throw the same exception type; returns the stock result. */
    private Object assertSameOutcome(Object target, String path, String where) {
        Object expected;
        try {
            expected = STOCK.resolvePath(target, path);
        } catch (RuntimeException | AssertionError stockFailure) { // HAPI reports some misuse with assert
            Throwable fastFailure = catchThrowable(() -> fast.resolvePath(target, path));
            assertThat(fastFailure).as("%s.%s: stock threw %s", where, path, stockFailure).isNotNull()
                    .isExactlyInstanceOf(stockFailure.getClass());
            Throwable readerFailure = catchThrowable(() -> fast.pathReader(target, path).apply(target));
            assertThat(readerFailure).as("%s.%s by pathReader: stock threw %s", where, path, stockFailure).isNotNull()
                    .isExactlyInstanceOf(stockFailure.getClass());
            return null;
        }
        assertSameResult(readWithFast(target, path, where, false), expected, where + "." + path);
        // The per-class reader the compiled ELM keeps for a property site must answer the same.
        assertSameResult(readWithFast(target, path, where, true), expected, where + "." + path + " (pathReader)");
        return expected;
    }

    private Object readWithFast(Object target, String path, String where, boolean byReader) {
        try {
            return byReader ? fast.pathReader(target, path).apply(target) : fast.resolvePath(target, path);
        } catch (RuntimeException | AssertionError e) {
            throw new AssertionError(where + "." + path + ": stock read it, fast threw " + e, e);
        }
    }

    /** HAPI objects by identity, lists element-wise by identity, converted values (String, CQL dates) by value. */
    private static void assertSameResult(Object actual, Object expected, String where) {
        if (expected == null) {
            assertThat(actual).as(where).isNull();
        } else if (expected instanceof List<?> expectedList) {
            assertThat(actual).as(where + " is a list").isInstanceOf(List.class);
            List<?> actualList = (List<?>) actual;
            assertThat(actualList).as(where).hasSameSizeAs(expectedList);
            for (int i = 0; i < expectedList.size(); i++) {
                assertThat(actualList.get(i)).as(where + "[" + i + "]").isSameAs(expectedList.get(i));
            }
        } else if (expected instanceof IBase) {
            assertThat(actual).as(where).isSameAs(expected);
        } else {
            assertThat(actual).as(where).isExactlyInstanceOf(expected.getClass());
            // CQL Date has no equals(); its text is its value.
            assertThat(actual.toString()).as(where).isEqualTo(expected.toString());
            if (expected instanceof org.opencds.cqf.cql.engine.runtime.BaseTemporal t) {
                assertThat(((org.opencds.cqf.cql.engine.runtime.BaseTemporal) actual).getPrecision()).as(where + " precision")
                        .isEqualTo(t.getPrecision());
            }
            if (expected instanceof org.opencds.cqf.cql.engine.runtime.DateTime t) {
                org.opencds.cqf.cql.engine.runtime.DateTime a = (org.opencds.cqf.cql.engine.runtime.DateTime) actual;
                assertThat(a.getDateTime()).as(where + " instant and offset").isEqualTo(t.getDateTime());
                assertThat(a.getZoneOffset()).as(where + " zone offset").isEqualTo(t.getZoneOffset());
            }
        }
    }

    // ------------------------------------------------------------------ data

    private static List<Resource> fixtureResources() {
        List<Resource> resources = new ArrayList<>();
        for (Fixture f : FixtureCatalog.load()) {
            f.toR4Bundle(TestRecord.TODAY).getEntry().forEach(e -> resources.add(e.getResource()));
            if (f.draftOrders() != null) {
                Bundle drafts = Fixture.strictParser().parseResource(Bundle.class, f.draftOrders(TestRecord.TODAY).toString());
                drafts.getEntry().forEach(e -> resources.add(e.getResource()));
            }
        }
        return resources;
    }

    private static Observation quantityObservation(String id, double value) {
        Observation o = new Observation();
        o.setId(id);
        o.setStatus(Observation.ObservationStatus.FINAL);
        o.setCode(new CodeableConcept(new Coding(TestRecord.LOINC, TestRecord.PLT, null)));
        o.setSubject(new Reference("Patient/p1"));
        o.setEffective(new DateTimeType("2025-05-01"));
        o.setValue(new Quantity().setValue(BigDecimal.valueOf(value)).setUnit("10*9/L").setSystem(TestRecord.UCUM)
                .setCode("10*9/L"));
        return o;
    }

    /** Shapes the fixtures may not have: every effective[x] type, primitives with only an extension, contained. */
    private static List<Resource> handBuilt() {
        List<Resource> out = new ArrayList<>();
        Observation q = quantityObservation("q", 150);
        q.getValueQuantity().setComparator(Quantity.QuantityComparator.LESS_THAN);
        TestRecord.refRange(q, 100.0, 400.0, "10*9/L");
        TestRecord.interpretation(q, "N");
        q.addCategory(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/observation-category",
                "laboratory", null)));
        q.getCode().addCoding(new Coding(TestRecord.LAB, "PLT", "Platelets"));
        q.setIssuedElement(new InstantType("2025-05-01T12:00:00Z"));
        out.add(q);

        Observation cc = new Observation();
        cc.setId("cc");
        cc.setStatus(Observation.ObservationStatus.AMENDED);
        cc.setValue(new CodeableConcept(new Coding(TestRecord.SCT, "10828004", "Positive")));
        cc.setEffective(new Period().setStartElement(new DateTimeType("2025-05-01")).setEndElement(new DateTimeType("2025-05-02")));
        out.add(cc);

        Observation text = new Observation();
        text.setId("text");
        text.setValue(new StringType("46,XY"));
        text.setEffective(new InstantType("2025-05-01T10:00:00.000Z"));
        text.getStatusElement().addExtension(new Extension("http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                new CodeType("unknown"))); // a status with no value, only an extension
        out.add(text);

        Observation issuedOnly = new Observation();
        issuedOnly.setId("issued");
        issuedOnly.setStatus(Observation.ObservationStatus.FINAL);
        issuedOnly.setIssuedElement(new InstantType("2025-05-03T08:00:00Z"));
        issuedOnly.setValue(new StringType()); // a value[x] that is an empty primitive
        out.add(issuedOnly);

        Condition c = new Condition();
        c.setId("c");
        c.setCode(new CodeableConcept(new Coding(TestRecord.SCT, "91857003", null)));
        c.setClinicalStatus(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "remission", null)));
        c.setVerificationStatus(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", null)));
        c.setOnset(new DateTimeType("2024-01-15"));
        c.setAbatement(new Period().setStartElement(new DateTimeType("2024-03-01")));
        c.setSubject(new Reference("Patient/p1"));
        out.add(c);

        Procedure parent = new Procedure();
        parent.setId("parent");
        parent.setStatus(Procedure.ProcedureStatus.COMPLETED);
        out.add(parent);
        Procedure p = new Procedure();
        p.setId("pr");
        p.setStatus(Procedure.ProcedureStatus.COMPLETED);
        p.setCode(new CodeableConcept(new Coding(TestRecord.SCT, "396487001", null)));
        p.setPerformed(new Period().setStartElement(new DateTimeType("2025-04-01T09:00:00Z"))
                .setEndElement(new DateTimeType("2025-04-01T10:00:00Z")));
        p.addPartOf(new Reference("Procedure/parent"));
        p.addPartOf(new Reference("#inline"));
        Procedure inline = new Procedure();
        inline.setId("inline");
        p.addContained(inline);
        out.add(p);

        Patient patient = new Patient();
        patient.setId("p1");
        patient.setBirthDateElement(new DateType("2010-06-01"));
        patient.setGender(AdministrativeGender.FEMALE);
        patient.addName().setFamily("Test").addGiven("A").addGiven("B");
        patient.setDeceased(new BooleanType(false));
        patient.addExtension(new Extension("urn:ext:composite", new Coding("s", "c", null)));
        out.add(patient);

        ServiceRequest s = new ServiceRequest();
        s.setId("sr");
        s.setStatus(ServiceRequest.ServiceRequestStatus.DRAFT);
        s.setIntent(ServiceRequest.ServiceRequestIntent.ORDER);
        s.setCode(new CodeableConcept(new Coding(TestRecord.LOINC, TestRecord.BCR_ABL, null)));
        s.setOccurrence(new DateTimeType("2025-06-02"));
        s.setAuthoredOnElement(new DateTimeType("2025-06-01T09:00:00Z"));
        out.add(s);
        return out;
    }
}
