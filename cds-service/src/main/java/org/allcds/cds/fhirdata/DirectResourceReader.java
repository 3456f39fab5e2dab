package org.allcds.cds.fhirdata;

import static java.util.Map.entry;

import ca.uhn.fhir.parser.BaseParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.hl7.fhir.r4.model.Annotation;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.CanonicalType;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.DecimalType;
import org.hl7.fhir.r4.model.Enumeration;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.MarkdownType;
import org.hl7.fhir.r4.model.Meta;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.Procedure;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Range;
import org.hl7.fhir.r4.model.Ratio;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Type;
import org.hl7.fhir.r4.model.UriType;

/**
 * Builds Observations, Procedures and Conditions of the shapes EHRs send (codes, subject, times, a
 * quantity or coded value, reference ranges, notes, ...) straight from the nodes of the request's JSON tree into the
 * HAPI R4 model, as HAPI's parser would build them. HAPI's
 * parser is general: per element it looks up the child definition by name, pushes a parser state, creates
 * the value by reflection and sets it by reflection; that was about a third of a 300-resource call, whose
 * record is 95 % Observations.
 *
 * <p>Only the plain, valid shape is read here. Anything else (an element not listed below, a JSON type
 * other than the one FHIR prescribes, an empty string, a null, an extension, a {@code _} companion, contained
 * resources, a value HAPI's own setter refuses, two values of one choice) makes {@link #read}
 * answer null, and HAPI's parser reads the resource: its answer, and its error, are the service's.
 * Values always go through HAPI's own setters ({@code setValueAsString}), so what is valid, and how a
 * value is stored, is HAPI's decision either way. {@code DirectResourceReaderTest} holds every fixture
 * resource of these types, one example of each with every element listed here, and thousands of mutated
 * ones to the result of HAPI's parser, class by class, value by value.
 */
final class DirectResourceReader {

    /** Not a shape read here: HAPI's parser reads the resource. Thrown without a stack trace; it is not an error. */
    private static final class NotPlain extends RuntimeException {
        NotPlain() {
            super(null, null, false, false);
        }
    }

    private static final NotPlain NOT_PLAIN = new NotPlain();

    private DirectResourceReader() {
    }

    /** The resource as HAPI's parser would build it, or null when HAPI's parser must read it. */
    static Resource read(Class<? extends Resource> type, ObjectNode json) {
        Shape<?> shape = SHAPES.get(type);
        if (shape == null || !shape.name().equals(json.path("resourceType").textValue())) {
            return null; // a missing or wrong resourceType is worded by HAPI's parser
        }
        try {
            return shape.read(json);
        } catch (NotPlain e) {
            return null;
        }
    }

    /** Sets one element from its JSON value. */
    @FunctionalInterface
    private interface Setter<T> {
        void set(T into, JsonNode value);
    }

    /** Reads one value from its JSON. */
    @FunctionalInterface
    private interface Read<V> {
        V read(JsonNode value);
    }

    /** A resource type: how to make one, and the elements read (every other one is not plain). */
    private record Shape<R extends Resource>(String name, Supplier<R> make, Map<String, Setter<R>> elements) {
        R read(ObjectNode json) {
            R r = make.get();
            members(json, r, elements);
            asHapisParserLeavesIt(r, name);
            return r;
        }
    }

    /** The elements of one type, each set through the model's own setter. */
    private static final class Elements<T> {
        private final Map<String, Setter<T>> set = new HashMap<>();

        Elements<T> with(String name, Setter<T> setter) {
            set.put(name, setter);
            return this;
        }

        /**
         * A choice element ({@code value[x]}): one member per type named, e.g. valueQuantity. HAPI's parser keeps
         * the first of two values given for one choice and drops the second; that case is left to it.
         */
        Elements<T> choice(String name, java.util.function.Function<T, Type> get, java.util.function.BiConsumer<T, Type> setter,
                String... types) {
            for (String type : types) {
                Read<Type> read = CHOICE_TYPES.get(type);
                set.put(name + type, (t, v) -> {
                    notPlainIf(get.apply(t) != null);
                    setter.accept(t, read.read(v));
                });
            }
            return this;
        }

        Map<String, Setter<T>> done() {
            return set;
        }
    }

    /** The elements of a resource type, plus what every resource has: resourceType (checked by read), id, meta. */
    private static <R extends Resource> Map<String, Setter<R>> resource(Elements<R> own) {
        return own.with("resourceType", (r, v) -> { })
                .with("id", (r, v) -> {
                    notPlainIf(v.isTextual() && !FhirIds.isId(v.textValue())); // refused by the caller, worded there
                    r.setIdElement(primitive(v, new IdType()));
                })
                .with("meta", (r, v) -> r.setMeta(composite(v, new Meta(), META)))
                .done();
    }

    // The tables, each defined before it is used (Java's rule for static fields).
    private static final Map<String, Setter<Coding>> CODING = new Elements<Coding>()
            .with("system", (c, v) -> c.setSystemElement(primitive(v, new UriType())))
            .with("version", (c, v) -> c.setVersionElement(primitive(v, new StringType())))
            .with("code", (c, v) -> c.setCodeElement(primitive(v, new CodeType())))
            .with("display", (c, v) -> c.setDisplayElement(primitive(v, new StringType())))
            .with("userSelected", (c, v) -> c.setUserSelectedElement(bool(v)))
            .done();

    private static final Map<String, Setter<CodeableConcept>> CODEABLE_CONCEPT = new Elements<CodeableConcept>()
            .with("coding", (c, v) -> c.setCoding(list(v, DirectResourceReader::coding)))
            .with("text", (c, v) -> c.setTextElement(primitive(v, new StringType())))
            .done();

    private static final Map<String, Setter<Quantity>> QUANTITY = new Elements<Quantity>()
            .with("value", (q, v) -> q.setValueElement(decimal(v)))
            .with("comparator", (q, v) -> q.setComparatorElement(
                    primitive(v, new Enumeration<>(new Quantity.QuantityComparatorEnumFactory()))))
            .with("unit", (q, v) -> q.setUnitElement(primitive(v, new StringType())))
            .with("system", (q, v) -> q.setSystemElement(primitive(v, new UriType())))
            .with("code", (q, v) -> q.setCodeElement(primitive(v, new CodeType())))
            .done();

    // a "#id" would point into contained resources, which HAPI's parser links up; "contained" is not read here
    private static final Map<String, Setter<Reference>> REFERENCE = new Elements<Reference>()
            .with("reference", (r, v) -> r.setReferenceElement(primitive(v, new StringType())))
            .with("type", (r, v) -> r.setTypeElement(primitive(v, new UriType())))
            .with("display", (r, v) -> r.setDisplayElement(primitive(v, new StringType())))
            .done();

    private static final Map<String, Setter<Identifier>> IDENTIFIER = new Elements<Identifier>()
            .with("use", (i, v) -> i.setUseElement(primitive(v, new Enumeration<>(new Identifier.IdentifierUseEnumFactory()))))
            .with("type", (i, v) -> i.setType(codeableConcept(v)))
            .with("system", (i, v) -> i.setSystemElement(primitive(v, new UriType())))
            .with("value", (i, v) -> i.setValueElement(primitive(v, new StringType())))
            .done();

    private static final Map<String, Setter<Period>> PERIOD = new Elements<Period>()
            .with("start", (p, v) -> p.setStartElement(primitive(v, new DateTimeType())))
            .with("end", (p, v) -> p.setEndElement(primitive(v, new DateTimeType())))
            .done();

    private static final Map<String, Setter<Range>> RANGE = new Elements<Range>()
            .with("low", (r, v) -> r.setLow(quantity(v)))
            .with("high", (r, v) -> r.setHigh(quantity(v)))
            .done();

    private static final Map<String, Setter<Ratio>> RATIO = new Elements<Ratio>()
            .with("numerator", (r, v) -> r.setNumerator(quantity(v)))
            .with("denominator", (r, v) -> r.setDenominator(quantity(v)))
            .done();

    private static final Map<String, Setter<Meta>> META = new Elements<Meta>()
            .with("versionId", (m, v) -> m.setVersionIdElement(primitive(v, new IdType())))
            .with("lastUpdated", (m, v) -> m.setLastUpdatedElement(primitive(v, new InstantType())))
            .with("source", (m, v) -> m.setSourceElement(primitive(v, new UriType())))
            .with("profile", (m, v) -> m.setProfile(list(v, x -> primitive(x, new CanonicalType()))))
            .with("tag", (m, v) -> m.setTag(list(v, DirectResourceReader::coding)))
            .with("security", (m, v) -> m.setSecurity(list(v, DirectResourceReader::coding)))
            .done();

    /** The types a choice element may take here, by the suffix of its JSON name. */
    private static final Map<String, Read<Type>> CHOICE_TYPES = Map.ofEntries(
            entry("Quantity", DirectResourceReader::quantity),
            entry("CodeableConcept", DirectResourceReader::codeableConcept),
            entry("String", v -> primitive(v, new StringType())),
            entry("Boolean", DirectResourceReader::bool),
            entry("Integer", v -> number(v, new IntegerType())),
            entry("DateTime", v -> primitive(v, new DateTimeType())),
            entry("Instant", v -> primitive(v, new InstantType())),
            entry("Period", v -> composite(v, new Period(), PERIOD)),
            entry("Range", v -> composite(v, new Range(), RANGE)),
            entry("Ratio", v -> composite(v, new Ratio(), RATIO)),
            entry("Reference", DirectResourceReader::reference));

    private static final Map<String, Setter<Annotation>> ANNOTATION = new Elements<Annotation>()
            .choice("author", Annotation::getAuthor, Annotation::setAuthor, "Reference", "String")
            .with("time", (a, v) -> a.setTimeElement(primitive(v, new DateTimeType())))
            .with("text", (a, v) -> a.setTextElement(primitive(v, new MarkdownType())))
            .done();

    private static final Map<String, Setter<Observation.ObservationReferenceRangeComponent>> REFERENCE_RANGE =
            new Elements<Observation.ObservationReferenceRangeComponent>()
                    .with("low", (r, v) -> r.setLow(quantity(v)))
                    .with("high", (r, v) -> r.setHigh(quantity(v)))
                    .with("type", (r, v) -> r.setType(codeableConcept(v)))
                    .with("appliesTo", (r, v) -> r.setAppliesTo(list(v, DirectResourceReader::codeableConcept)))
                    .with("age", (r, v) -> r.setAge(composite(v, new Range(), RANGE)))
                    .with("text", (r, v) -> r.setTextElement(primitive(v, new StringType())))
                    .done();

    private static final String[] OBSERVATION_VALUES = {
        "Quantity", "CodeableConcept", "String", "Boolean", "Integer", "Range", "Ratio", "DateTime", "Period"};

    private static final Map<String, Setter<Observation.ObservationComponentComponent>> COMPONENT =
            new Elements<Observation.ObservationComponentComponent>()
                    .with("code", (c, v) -> c.setCode(codeableConcept(v)))
                    .choice("value", Observation.ObservationComponentComponent::getValue,
                            Observation.ObservationComponentComponent::setValue, OBSERVATION_VALUES)
                    .with("dataAbsentReason", (c, v) -> c.setDataAbsentReason(codeableConcept(v)))
                    .with("interpretation", (c, v) -> c.setInterpretation(list(v, DirectResourceReader::codeableConcept)))
                    .with("referenceRange", (c, v) -> c.setReferenceRange(list(v, DirectResourceReader::referenceRange)))
                    .done();

    private static final Shape<Observation> OBSERVATION = new Shape<>("Observation", Observation::new, resource(
            new Elements<Observation>()
                    .with("identifier", (o, v) -> o.setIdentifier(list(v, DirectResourceReader::identifier)))
                    .with("basedOn", (o, v) -> o.setBasedOn(list(v, DirectResourceReader::reference)))
                    .with("partOf", (o, v) -> o.setPartOf(list(v, DirectResourceReader::reference)))
                    .with("status", (o, v) -> o.setStatusElement(
                            primitive(v, new Enumeration<>(new Observation.ObservationStatusEnumFactory()))))
                    .with("category", (o, v) -> o.setCategory(list(v, DirectResourceReader::codeableConcept)))
                    .with("code", (o, v) -> o.setCode(codeableConcept(v)))
                    .with("subject", (o, v) -> o.setSubject(reference(v)))
                    .with("focus", (o, v) -> o.setFocus(list(v, DirectResourceReader::reference)))
                    .with("encounter", (o, v) -> o.setEncounter(reference(v)))
                    .choice("effective", Observation::getEffective, Observation::setEffective, "DateTime", "Instant", "Period")
                    .with("issued", (o, v) -> o.setIssuedElement(primitive(v, new InstantType())))
                    .with("performer", (o, v) -> o.setPerformer(list(v, DirectResourceReader::reference)))
                    .choice("value", Observation::getValue, Observation::setValue, OBSERVATION_VALUES)
                    .with("dataAbsentReason", (o, v) -> o.setDataAbsentReason(codeableConcept(v)))
                    .with("interpretation", (o, v) -> o.setInterpretation(list(v, DirectResourceReader::codeableConcept)))
                    .with("note", (o, v) -> o.setNote(list(v, DirectResourceReader::annotation)))
                    .with("bodySite", (o, v) -> o.setBodySite(codeableConcept(v)))
                    .with("method", (o, v) -> o.setMethod(codeableConcept(v)))
                    .with("specimen", (o, v) -> o.setSpecimen(reference(v)))
                    .with("device", (o, v) -> o.setDevice(reference(v)))
                    .with("referenceRange", (o, v) -> o.setReferenceRange(list(v, DirectResourceReader::referenceRange)))
                    .with("hasMember", (o, v) -> o.setHasMember(list(v, DirectResourceReader::reference)))
                    .with("derivedFrom", (o, v) -> o.setDerivedFrom(list(v, DirectResourceReader::reference)))
                    .with("component", (o, v) -> o.setComponent(list(v, x -> composite(x,
                            new Observation.ObservationComponentComponent(), COMPONENT))))));

    private static final Map<String, Setter<Procedure.ProcedurePerformerComponent>> PERFORMER =
            new Elements<Procedure.ProcedurePerformerComponent>()
                    .with("function", (p, v) -> p.setFunction(codeableConcept(v)))
                    .with("actor", (p, v) -> p.setActor(reference(v)))
                    .with("onBehalfOf", (p, v) -> p.setOnBehalfOf(reference(v)))
                    .done();

    private static final Shape<Procedure> PROCEDURE = new Shape<>("Procedure", Procedure::new, resource(
            new Elements<Procedure>()
                    .with("identifier", (p, v) -> p.setIdentifier(list(v, DirectResourceReader::identifier)))
                    .with("basedOn", (p, v) -> p.setBasedOn(list(v, DirectResourceReader::reference)))
                    .with("partOf", (p, v) -> p.setPartOf(list(v, DirectResourceReader::reference)))
                    .with("status", (p, v) -> p.setStatusElement(
                            primitive(v, new Enumeration<>(new Procedure.ProcedureStatusEnumFactory()))))
                    .with("statusReason", (p, v) -> p.setStatusReason(codeableConcept(v)))
                    .with("category", (p, v) -> p.setCategory(codeableConcept(v)))
                    .with("code", (p, v) -> p.setCode(codeableConcept(v)))
                    .with("subject", (p, v) -> p.setSubject(reference(v)))
                    .with("encounter", (p, v) -> p.setEncounter(reference(v)))
                    .choice("performed", Procedure::getPerformed, Procedure::setPerformed, "DateTime", "Period", "String")
                    .with("recorder", (p, v) -> p.setRecorder(reference(v)))
                    .with("asserter", (p, v) -> p.setAsserter(reference(v)))
                    .with("performer", (p, v) -> p.setPerformer(list(v, x -> composite(x,
                            new Procedure.ProcedurePerformerComponent(), PERFORMER))))
                    .with("location", (p, v) -> p.setLocation(reference(v)))
                    .with("reasonCode", (p, v) -> p.setReasonCode(list(v, DirectResourceReader::codeableConcept)))
                    .with("reasonReference", (p, v) -> p.setReasonReference(list(v, DirectResourceReader::reference)))
                    .with("bodySite", (p, v) -> p.setBodySite(list(v, DirectResourceReader::codeableConcept)))
                    .with("outcome", (p, v) -> p.setOutcome(codeableConcept(v)))
                    .with("report", (p, v) -> p.setReport(list(v, DirectResourceReader::reference)))
                    .with("complication", (p, v) -> p.setComplication(list(v, DirectResourceReader::codeableConcept)))
                    .with("followUp", (p, v) -> p.setFollowUp(list(v, DirectResourceReader::codeableConcept)))
                    .with("note", (p, v) -> p.setNote(list(v, DirectResourceReader::annotation)))));

    private static final Shape<Condition> CONDITION = new Shape<>("Condition", Condition::new, resource(
            new Elements<Condition>()
                    .with("identifier", (c, v) -> c.setIdentifier(list(v, DirectResourceReader::identifier)))
                    .with("clinicalStatus", (c, v) -> c.setClinicalStatus(codeableConcept(v)))
                    .with("verificationStatus", (c, v) -> c.setVerificationStatus(codeableConcept(v)))
                    .with("category", (c, v) -> c.setCategory(list(v, DirectResourceReader::codeableConcept)))
                    .with("severity", (c, v) -> c.setSeverity(codeableConcept(v)))
                    .with("code", (c, v) -> c.setCode(codeableConcept(v)))
                    .with("bodySite", (c, v) -> c.setBodySite(list(v, DirectResourceReader::codeableConcept)))
                    .with("subject", (c, v) -> c.setSubject(reference(v)))
                    .with("encounter", (c, v) -> c.setEncounter(reference(v)))
                    .choice("onset", Condition::getOnset, Condition::setOnset, "DateTime", "Period", "String")
                    .choice("abatement", Condition::getAbatement, Condition::setAbatement, "DateTime", "Period", "String")
                    .with("recordedDate", (c, v) -> c.setRecordedDateElement(primitive(v, new DateTimeType())))
                    .with("recorder", (c, v) -> c.setRecorder(reference(v)))
                    .with("asserter", (c, v) -> c.setAsserter(reference(v)))
                    .with("note", (c, v) -> c.setNote(list(v, DirectResourceReader::annotation)))));

    private static final Map<Class<?>, Shape<?>> SHAPES = Map.of(
            Observation.class, OBSERVATION, Procedure.class, PROCEDURE, Condition.class, CONDITION);

    private static CodeableConcept codeableConcept(JsonNode json) {
        return composite(json, new CodeableConcept(), CODEABLE_CONCEPT);
    }

    private static Coding coding(JsonNode json) {
        return composite(json, new Coding(), CODING);
    }

    private static Quantity quantity(JsonNode json) {
        return composite(json, new Quantity(), QUANTITY);
    }

    private static Reference reference(JsonNode json) {
        return composite(json, new Reference(), REFERENCE);
    }

    private static Identifier identifier(JsonNode json) {
        return composite(json, new Identifier(), IDENTIFIER);
    }

    private static Annotation annotation(JsonNode json) {
        return composite(json, new Annotation(), ANNOTATION);
    }

    private static Observation.ObservationReferenceRangeComponent referenceRange(JsonNode json) {
        return composite(json, new Observation.ObservationReferenceRangeComponent(), REFERENCE_RANGE);
    }

    /** A JSON object read member by member into {@code into}; a member not in {@code elements} is not plain. */
    private static <T> T composite(JsonNode json, T into, Map<String, Setter<T>> elements) {
        notPlainIf(!json.isObject());
        members(json, into, elements);
        return into;
    }

    /** The object's members in order (a tree holds each name once). */
    private static <T> void members(JsonNode json, T into, Map<String, Setter<T>> elements) {
        for (Map.Entry<String, JsonNode> member : json.properties()) {
            Setter<T> setter = elements.get(member.getKey());
            notPlainIf(setter == null);
            setter.set(into, member.getValue());
        }
    }

    private static void notPlainIf(boolean condition) {
        if (condition) {
            throw NOT_PLAIN;
        }
    }

    /**
     * What HAPI's parser does to every resource it finishes (ParserState's PreResourceStateHl7Org and
     * postProcess): marks it as parsed, creates its (possibly empty) meta, and qualifies its id with the type.
     */
    private static void asHapisParserLeavesIt(Resource r, String type) {
        r.setUserData(BaseParser.RESOURCE_CREATED_BY_PARSER, Boolean.TRUE);
        String versionId = r.getMeta().getVersionId();
        String idPart = r.getIdElement().getIdPart();
        if (idPart == null || idPart.isBlank() || idPart.startsWith("urn:")) {
            return;
        }
        r.getIdElement().setValue(versionId == null || versionId.isBlank()
                ? type + "/" + idPart
                : type + "/" + idPart + "/_history/" + versionId);
    }

    /**
     * A repeating element: a JSON array, each item read by {@code item}, in a list of its exact size for the
     * usual one item (the model's own lists start at ten slots). An empty array leaves the element unset, as
     * HAPI's parser does.
     */
    private static <T> List<T> list(JsonNode json, Read<T> item) {
        notPlainIf(!json.isArray());
        List<T> items = null;
        for (JsonNode element : json) {
            if (items == null) {
                items = new ArrayList<>(json.size());
            }
            items.add(item.read(element));
        }
        return items;
    }

    /**
     * A string-valued primitive, set as HAPI's parser sets it: the JSON string through the type's own
     * {@code setValueAsString}. The empty string, which HAPI reports, and anything the setter refuses
     * are left to HAPI's parser, so that the error is worded by it.
     */
    private static <P extends PrimitiveType<?>> P primitive(JsonNode json, P into) {
        notPlainIf(!json.isTextual());
        String text = json.textValue();
        notPlainIf(text.isEmpty());
        return set(into, text);
    }

    /** A JSON number, as text exactly as HAPI's parser is handed it from the request's tree. */
    private static DecimalType decimal(JsonNode json) {
        String text = numberText(json);
        // HAPI rewrites "+1", ".5" and "007" first; a JSON number never looks like that, but if one did it is HAPI's
        notPlainIf(text.startsWith("+") || text.startsWith(".") || text.startsWith("00"));
        return set(new DecimalType(), text);
    }

    /** A JSON number for a non-decimal primitive (integer): its text, through the type's own setter. */
    private static <P extends PrimitiveType<?>> P number(JsonNode json, P into) {
        return set(into, numberText(json));
    }

    /**
     * A number's text as HAPI's parser is handed it from the request's tree: the decimal exactly as written, in plain form ({@code 250000000000.0},
     * {@code 0.00010}, {@code 1e2} as {@code 100}); never through a double.
     */
    private static String numberText(JsonNode json) {
        notPlainIf(!json.isNumber());
        return json.isIntegralNumber() ? json.bigIntegerValue().toString() : json.decimalValue().toPlainString();
    }

    private static BooleanType bool(JsonNode json) {
        notPlainIf(!json.isBoolean());
        return set(new BooleanType(), json.booleanValue() ? "true" : "false");
    }

    private static <P extends PrimitiveType<?>> P set(P into, String text) {
        try {
            into.setValueAsString(text);
        } catch (RuntimeException refused) {
            org.allcds.cql.FastPathFallbacks.record("direct-read-value", refused); // HAPI's parser reads it, and words any error
            throw NOT_PLAIN;
        }
        return into;
    }
}
