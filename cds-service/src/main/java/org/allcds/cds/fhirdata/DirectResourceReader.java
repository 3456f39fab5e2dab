package org.allcds.cds.fhirdata;

import static java.util.Map.entry;

import ca.uhn.fhir.parser.BaseParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.CanonicalType;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.DecimalType;
import org.hl7.fhir.r4.model.Enumeration;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Meta;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.UriType;

/**
 * Builds an Observation of the shape labs send (code, subject, effective time, a quantity or coded
 * value, reference ranges, ...) straight from its JSON tree into the HAPI R4 model, as HAPI's parser
 * would build it. HAPI's parser is general: per element it looks up the child definition by name,
 * pushes a parser state, creates the value by reflection and sets it by reflection; that was about a
 * third of a 300-resource call. Observations are 95 % of a long-treated patient's record.
 *
 * <p>Only the plain, valid shape is read here. Anything else (an element not listed below, a JSON type
 * other than the one FHIR prescribes, an empty string, a null, an extension, a {@code _} companion, contained
 * resources, a value HAPI's own setter refuses, two values of one choice) makes {@link #read}
 * answer null, and HAPI's parser reads the resource: its answer, and its error, are the service's.
 * Values always go through HAPI's own setters ({@code setValueAsString}), so what is valid, and how a
 * value is stored, is HAPI's decision either way. {@code DirectResourceReaderTest} holds every fixture
 * Observation and thousands of mutated ones to the result of HAPI's parser, class by class, value by value.
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
        if (type != Observation.class || !"Observation".equals(json.path("resourceType").textValue())) {
            return null; // a missing or wrong resourceType is worded by HAPI's parser
        }
        try {
            Observation o = composite(json, new Observation(), OBSERVATION);
            asHapisParserLeavesIt(o, "Observation");
            return o;
        } catch (NotPlain e) {
            return null;
        }
    }

    // The elements read, per type, each set through the model's own setter (defined before use: Java's rule).
    private static final Map<String, BiConsumer<Observation.ObservationReferenceRangeComponent, JsonNode>> REFERENCE_RANGE =
            Map.of("low", (r, v) -> r.setLow(quantity(v)),
                    "high", (r, v) -> r.setHigh(quantity(v)),
                    "type", (r, v) -> r.setType(codeableConcept(v)),
                    "appliesTo", (r, v) -> r.setAppliesTo(list(v, DirectResourceReader::codeableConcept)),
                    "text", (r, v) -> r.setTextElement(primitive(v, new StringType())));

    private static final Map<String, BiConsumer<Meta, JsonNode>> META = Map.of(
            "versionId", (m, v) -> m.setVersionIdElement(primitive(v, new IdType())),
            "lastUpdated", (m, v) -> m.setLastUpdatedElement(primitive(v, new InstantType())),
            "source", (m, v) -> m.setSourceElement(primitive(v, new UriType())),
            "profile", (m, v) -> m.setProfile(list(v, x -> primitive(x, new CanonicalType()))),
            "tag", (m, v) -> m.setTag(list(v, DirectResourceReader::coding)),
            "security", (m, v) -> m.setSecurity(list(v, DirectResourceReader::coding)));

    private static final Map<String, BiConsumer<CodeableConcept, JsonNode>> CODEABLE_CONCEPT = Map.of(
            "coding", (c, v) -> c.setCoding(list(v, DirectResourceReader::coding)),
            "text", (c, v) -> c.setTextElement(primitive(v, new StringType())));

    private static final Map<String, BiConsumer<Coding, JsonNode>> CODING = Map.of(
            "system", (c, v) -> c.setSystemElement(primitive(v, new UriType())),
            "version", (c, v) -> c.setVersionElement(primitive(v, new StringType())),
            "code", (c, v) -> c.setCodeElement(primitive(v, new CodeType())),
            "display", (c, v) -> c.setDisplayElement(primitive(v, new StringType())),
            "userSelected", (c, v) -> c.setUserSelectedElement(bool(v)));

    private static final Map<String, BiConsumer<Quantity, JsonNode>> QUANTITY = Map.of(
            "value", (q, v) -> q.setValueElement(decimal(v)),
            "comparator", (q, v) -> q.setComparatorElement(
                    primitive(v, new Enumeration<>(new Quantity.QuantityComparatorEnumFactory()))),
            "unit", (q, v) -> q.setUnitElement(primitive(v, new StringType())),
            "system", (q, v) -> q.setSystemElement(primitive(v, new UriType())),
            "code", (q, v) -> q.setCodeElement(primitive(v, new CodeType())));

    // a "#id" would point into contained resources, which HAPI's parser links up; "contained" is not read here
    private static final Map<String, BiConsumer<Reference, JsonNode>> REFERENCE = Map.of(
            "reference", (r, v) -> r.setReferenceElement(primitive(v, new StringType())),
            "type", (r, v) -> r.setTypeElement(primitive(v, new UriType())),
            "display", (r, v) -> r.setDisplayElement(primitive(v, new StringType())));

    private static final Map<String, BiConsumer<Identifier, JsonNode>> IDENTIFIER = Map.of(
            "use", (i, v) -> i.setUseElement(primitive(v, new Enumeration<>(new Identifier.IdentifierUseEnumFactory()))),
            "type", (i, v) -> i.setType(codeableConcept(v)),
            "system", (i, v) -> i.setSystemElement(primitive(v, new UriType())),
            "value", (i, v) -> i.setValueElement(primitive(v, new StringType())));

    private static final Map<String, BiConsumer<Period, JsonNode>> PERIOD = Map.of(
            "start", (p, v) -> p.setStartElement(primitive(v, new DateTimeType())),
            "end", (p, v) -> p.setEndElement(primitive(v, new DateTimeType())));

    // choice elements (effective[x], value[x]): HAPI's parser keeps the first of two values and drops the
    // second, which is left to it (once)
    private static final Map<String, BiConsumer<Observation, JsonNode>> OBSERVATION = Map.ofEntries(
            entry("resourceType", (o, v) -> { }), // checked by read
            entry("id", (o, v) -> o.setIdElement(primitive(v, new IdType()))),
            entry("meta", (o, v) -> o.setMeta(composite(v, new Meta(), META))),
            entry("identifier", (o, v) -> o.setIdentifier(list(v, x -> composite(x, new Identifier(), IDENTIFIER)))),
            entry("status", (o, v) -> o.setStatusElement(
                    primitive(v, new Enumeration<>(new Observation.ObservationStatusEnumFactory())))),
            entry("category", (o, v) -> o.setCategory(list(v, DirectResourceReader::codeableConcept))),
            entry("code", (o, v) -> o.setCode(codeableConcept(v))),
            entry("subject", (o, v) -> o.setSubject(reference(v))),
            entry("encounter", (o, v) -> o.setEncounter(reference(v))),
            entry("effectiveDateTime", (o, v) -> o.setEffective(once(o.getEffective(), primitive(v, new DateTimeType())))),
            entry("effectiveInstant", (o, v) -> o.setEffective(once(o.getEffective(), primitive(v, new InstantType())))),
            entry("effectivePeriod", (o, v) -> o.setEffective(once(o.getEffective(), composite(v, new Period(), PERIOD)))),
            entry("issued", (o, v) -> o.setIssuedElement(primitive(v, new InstantType()))),
            entry("performer", (o, v) -> o.setPerformer(list(v, DirectResourceReader::reference))),
            entry("valueQuantity", (o, v) -> o.setValue(once(o.getValue(), quantity(v)))),
            entry("valueCodeableConcept", (o, v) -> o.setValue(once(o.getValue(), codeableConcept(v)))),
            entry("valueString", (o, v) -> o.setValue(once(o.getValue(), primitive(v, new StringType())))),
            entry("interpretation", (o, v) -> o.setInterpretation(list(v, DirectResourceReader::codeableConcept))),
            entry("specimen", (o, v) -> o.setSpecimen(reference(v))),
            entry("referenceRange", (o, v) -> o.setReferenceRange(
                    list(v, x -> composite(x, new Observation.ObservationReferenceRangeComponent(), REFERENCE_RANGE)))));

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

    /** A JSON object read member by member into {@code into}; a member not in {@code elements} is not plain. */
    private static <T> T composite(JsonNode json, T into, Map<String, BiConsumer<T, JsonNode>> elements) {
        for (Map.Entry<String, JsonNode> member : object(json).properties()) {
            BiConsumer<T, JsonNode> set = elements.get(member.getKey());
            notPlainIf(set == null);
            set.accept(into, member.getValue());
        }
        return into;
    }

    /** The value of a choice element, unless the choice already has one. */
    private static <V> V once(Object earlier, V value) {
        notPlainIf(earlier != null);
        return value;
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

    private static ObjectNode object(JsonNode json) {
        notPlainIf(!(json instanceof ObjectNode));
        return (ObjectNode) json;
    }

    /**
     * A repeating element: a JSON array, each item read by {@code item}, in a list of its exact size (the
     * model's own lists start at ten slots, and most FHIR arrays hold one item). An empty array leaves the
     * element unset, as HAPI's parser does.
     */
    private static <T> List<T> list(JsonNode json, Function<JsonNode, T> item) {
        notPlainIf(!json.isArray());
        if (json.isEmpty()) {
            return null;
        }
        List<T> items = new ArrayList<>(json.size());
        for (JsonNode x : json) {
            items.add(item.apply(x));
        }
        return items;
    }

    /**
     * A string-valued primitive, set as HAPI's parser sets it: the JSON string through the type's own
     * {@code setValueAsString}. The empty string, which HAPI reports, and anything the setter refuses
     * are left to HAPI's parser, so that the error is worded by it.
     */
    private static <P extends PrimitiveType<?>> P primitive(JsonNode json, P into) {
        notPlainIf(!json.isTextual() || json.textValue().isEmpty());
        return set(into, json.textValue());
    }

    /** A JSON number, as text exactly as HAPI's parser is handed it (JacksonTreeStructure). */
    private static DecimalType decimal(JsonNode json) {
        notPlainIf(!json.isNumber());
        String text = JacksonTreeStructure.scalarText(json);
        // HAPI rewrites "+1", ".5" and "007" first; a JSON number never looks like that, but if one did it is HAPI's
        notPlainIf(text.startsWith("+") || text.startsWith(".") || text.startsWith("00"));
        return set(new DecimalType(), text);
    }

    private static BooleanType bool(JsonNode json) {
        notPlainIf(!json.isBoolean());
        return set(new BooleanType(), JacksonTreeStructure.scalarText(json));
    }

    private static <P extends PrimitiveType<?>> P set(P into, String text) {
        try {
            into.setValueAsString(text);
        } catch (RuntimeException refused) {
            throw NOT_PLAIN;
        }
        return into;
    }
}
