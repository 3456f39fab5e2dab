package org.allcds.cds.fhirdata;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.BaseParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.allcds.cds.hooks.HookRequestParser;
import org.allcds.cds.problems.RequestProblem;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.hl7.fhir.r4.model.Base;
import org.hl7.fhir.r4.model.DecimalType;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Procedure;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.Property;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.Test;

/**
 * {@link DirectResourceReader} against HAPI's parser: the same model, class by class and value by value
 * (a decimal's scale included), or, for anything it does not read, HAPI's own answer or error.
 */
class DirectResourceReaderTest {

    private static final FhirContext FHIR = FhirContext.forR4Cached();
    private final HookRequestParser requests = new HookRequestParser(); // the service's own JSON reading
    private final ResourceReader withDirect = new ResourceReader(FHIR, true);
    private final ResourceReader hapiOnly = new ResourceReader(FHIR, false);

    /** Every element the direct reader knows, with values of each kind it sets, for each type it reads. */
    private static final String EVERY_ELEMENT = """
            {"resourceType":"Observation","id":"rich-1",
             "meta":{"versionId":"3","lastUpdated":"2025-05-01T10:00:00.123+02:00","source":"urn:lab",
                     "profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab"],
                     "tag":[{"system":"urn:tags","code":"t"}],"security":[{"system":"urn:sec","code":"N"}]},
             "identifier":[{"use":"official","type":{"text":"accession"},"system":"urn:acc","value":"A-1"}],
             "basedOn":[{"reference":"ServiceRequest/sr1"}],"partOf":[{"reference":"Procedure/pr1"}],
             "status":"amended",
             "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
             "code":{"coding":[{"system":"http://loinc.org","version":"2.77","code":"26464-8","display":"WBC","userSelected":true}],
                     "text":"White cells"},
             "subject":{"reference":"Patient/p1","type":"Patient","display":"A patient"},
             "focus":[{"reference":"Specimen/s1"}],
             "encounter":{"reference":"Encounter/e1"},
             "effectivePeriod":{"start":"2025-04-30T08:00:00Z","end":"2025-04-30"},
             "issued":"2025-04-30T09:15:00.5-05:00",
             "performer":[{"reference":"Organization/lab"},{"display":"Dr A"}],
             "valueQuantity":{"value":1.50,"comparator":"<","unit":"10*3/uL","system":"http://unitsofmeasure.org","code":"10*3/uL"},
             "dataAbsentReason":{"text":"partly"},
             "interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"L"}]}],
             "note":[{"authorString":"lab tech","time":"2025-04-30","text":"*hemolysed*"},{"authorReference":{"reference":"Practitioner/x"}}],
             "bodySite":{"text":"left arm"},"method":{"text":"flow cytometry"},
             "specimen":{"reference":"Specimen/s1"},"device":{"display":"analyser 3"},
             "referenceRange":[{"low":{"value":4,"unit":"10*3/uL"},"high":{"value":11.0},"type":{"text":"normal"},
                                "appliesTo":[{"text":"adult"}],"age":{"low":{"value":18},"high":{"value":99}},"text":"4-11"}],
             "hasMember":[{"reference":"Observation/m1"}],"derivedFrom":[{"reference":"Observation/d1"}],
             "component":[
               {"code":{"text":"range"},"valueRange":{"low":{"value":1},"high":{"value":2,"unit":"%"}},
                "interpretation":[{"text":"N"}],"referenceRange":[{"text":"any"}]},
               {"code":{"text":"ratio"},"valueRatio":{"numerator":{"value":1},"denominator":{"value":128}}},
               {"code":{"text":"boolean"},"valueBoolean":false},
               {"code":{"text":"integer"},"valueInteger":-42},
               {"code":{"text":"dateTime"},"valueDateTime":"2025-04"},
               {"code":{"text":"period"},"valuePeriod":{"start":"2025"}},
               {"code":{"text":"string"},"valueString":"detected"},
               {"code":{"text":"coded"},"valueCodeableConcept":{"text":"positive"}},
               {"code":{"text":"absent"},"dataAbsentReason":{"text":"not done"}}]}""";

    private static final String EVERY_PROCEDURE_ELEMENT = """
            {"resourceType":"Procedure","id":"proc-1","meta":{"lastUpdated":"2025-05-01T10:00:00Z"},
             "identifier":[{"system":"urn:p","value":"1"}],"basedOn":[{"reference":"ServiceRequest/sr1"}],
             "partOf":[{"reference":"Procedure/p0"}],"status":"completed","statusReason":{"text":"none"},
             "category":{"text":"diagnostic"},
             "code":{"coding":[{"system":"http://snomed.info/sct","code":"277762005","display":"Lumbar puncture"}]},
             "subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"},
             "performedPeriod":{"start":"2025-03-01T10:00:00+01:00","end":"2025-03-01T10:30:00+01:00"},
             "recorder":{"reference":"Practitioner/r"},"asserter":{"reference":"Practitioner/a"},
             "performer":[{"function":{"text":"operator"},"actor":{"reference":"Practitioner/o"},"onBehalfOf":{"reference":"Organization/h"}}],
             "location":{"reference":"Location/l"},"reasonCode":[{"text":"staging"}],"reasonReference":[{"reference":"Condition/c"}],
             "bodySite":[{"text":"L3-L4"}],"outcome":{"text":"ok"},"report":[{"reference":"DiagnosticReport/d"}],
             "complication":[{"text":"none"}],"followUp":[{"text":"rest"}],"note":[{"text":"uneventful"}]}""";

    private static final String EVERY_CONDITION_ELEMENT = """
            {"resourceType":"Condition","id":"cond-1","meta":{"versionId":"1"},
             "identifier":[{"value":"c-1"}],
             "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
             "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},
             "category":[{"text":"problem"}],"severity":{"text":"severe"},
             "code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"C91.00"}]},
             "bodySite":[{"text":"marrow"}],"subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"},
             "onsetDateTime":"2020-01-15","abatementString":"in remission","recordedDate":"2020-01-16T09:00:00Z",
             "recorder":{"reference":"Practitioner/r"},"asserter":{"reference":"Practitioner/a"},
             "note":[{"authorString":"Dr B","text":"Ph-negative"}]}""";

    private static final List<Class<? extends Resource>> TYPES = List.of(Observation.class, Procedure.class, Condition.class);

    @Test
    void everyFixtureObservationProcedureAndConditionIsReadDirectlyToWhatHapisParserBuilds() {
        for (Class<? extends Resource> type : TYPES) {
            int n = 0;
            for (ObjectNode resource : fixtureResources(type)) {
                Resource direct = DirectResourceReader.read(type, resource);
                assertThat(direct).as("read directly: %s", resource).isNotNull();
                assertThat(model(direct)).as(resource.toString()).isEqualTo(model(hapiOnly.read(type, resource, () -> "x")));
                n++;
            }
            assertThat(n).as(type.getSimpleName()).isGreaterThan(20);
        }
    }

    @Test
    void everyElementItKnowsIsReadToWhatHapisParserBuilds() {
        Map<String, List<String>> expected = Map.of(
                EVERY_ELEMENT, List.of("id:IdType=Observation/rich-1/_history/3", "value[x]:Quantity",
                        "value:DecimalType=1.50 (scale 2)", "comparator:Enumeration=<", "userSelected:BooleanType=true",
                        "value[x]:Range", "value[x]:Ratio", "value[x]:BooleanType=false", "value[x]:IntegerType=-42",
                        "author[x]:StringType=lab tech", "author[x]:Reference", "age:Range", "text:MarkdownType=*hemolysed*",
                        "parsed by HAPI's parser: true"),
                EVERY_PROCEDURE_ELEMENT, List.of("id:IdType=Procedure/proc-1", "performed[x]:Period", "status:Enumeration=completed",
                        "performer:ProcedurePerformerComponent"),
                EVERY_CONDITION_ELEMENT, List.of("id:IdType=Condition/cond-1/_history/1", "onset[x]:DateTimeType=2020-01-15",
                        "abatement[x]:StringType=in remission"));
        for (Map.Entry<String, List<String>> example : expected.entrySet()) {
            ObjectNode json = tree(example.getKey());
            Class<? extends Resource> type = typeOf(json);
            Resource direct = DirectResourceReader.read(type, json);
            assertThat(direct).as(example.getKey()).isNotNull();
            String model = model(direct);
            assertThat(model).isEqualTo(model(hapiOnly.read(type, json, () -> "x")));
            // the model dump is worth comparing: it holds the ids, classes, scales and the parser's mark
            assertThat(model).contains(example.getValue());
        }
    }

    /**
     * Each node of each base Observation replaced, removed or given a sibling, one at a time: whichever way the
     * service reads the result (directly, or handing it to HAPI), the resource or the error is HAPI's.
     */
    @Test
    void mutatedObservationsGetHapisResourceOrHapisError() throws Exception {
        List<ObjectNode> bases = new ArrayList<>();
        for (String rich : List.of(EVERY_ELEMENT, EVERY_PROCEDURE_ELEMENT, EVERY_CONDITION_ELEMENT)) {
            bases.add(tree(rich));
        }
        Map<String, ObjectNode> oneOfEachShape = new LinkedHashMap<>();
        for (Class<? extends Resource> type : TYPES) {
            for (ObjectNode o : fixtureResources(type)) {
                oneOfEachShape.putIfAbsent(shape(o), o);
            }
        }
        bases.addAll(oneOfEachShape.values());
        int mutants = 0;
        int readDirectly = 0;
        for (ObjectNode base : bases) {
            Class<? extends Resource> type = typeOf(base);
            for (ObjectNode mutant : mutants(base)) {
                ObjectNode tree = tree(mutant.toString()); // as the service reads it
                assertThat(outcome(withDirect, type, tree)).as(mutant.toString()).isEqualTo(outcome(hapiOnly, type, tree));
                mutants++;
                if (DirectResourceReader.read(type, tree) != null) {
                    readDirectly++;
                }
            }
        }
        // both ways are exercised: many mutants are still plain, many are not
        assertThat(mutants).isGreaterThan(5000);
        assertThat(readDirectly).isBetween(mutants / 10, mutants - mutants / 10);
    }

    @Test
    void otherResourceTypesAreLeftToHapisParser() {
        ObjectNode patient = tree("{\"resourceType\":\"Patient\",\"id\":\"p\"}");
        assertThat(DirectResourceReader.read(org.hl7.fhir.r4.model.Patient.class, patient)).isNull();
    }

    private List<ObjectNode> fixtureResources(Class<? extends Resource> type) {
        List<ObjectNode> resources = new ArrayList<>();
        for (Fixture f : FixtureCatalog.load()) {
            for (JsonNode r : f.resources(LocalDate.of(2025, 6, 1))) {
                if (type.getSimpleName().equals(r.path("resourceType").asText())) {
                    resources.add(tree(r.toString()));
                }
            }
        }
        return resources;
    }

    private static String describe(Resource r) {
        return r == null ? "left to HAPI's parser" : model(r);
    }

    @SuppressWarnings("unchecked")
    private static Class<? extends Resource> typeOf(ObjectNode json) {
        return (Class<? extends Resource>) FHIR.getResourceDefinition(json.path("resourceType").asText()).getImplementingClass();
    }

    private ObjectNode tree(String json) {
        return (ObjectNode) requests.readTree(json.getBytes(StandardCharsets.UTF_8));
    }

    /** The element paths an Observation has, values aside: one base per shape. */
    private static String shape(JsonNode node) {
        if (node.isObject()) {
            StringBuilder s = new StringBuilder("{");
            node.properties().forEach(p -> s.append(p.getKey()).append(':').append(shape(p.getValue())).append(','));
            return s.append('}').toString();
        }
        if (node.isArray()) {
            return node.isEmpty() ? "[]" : "[" + shape(node.get(0)) + "]";
        }
        return node.getNodeType().name();
    }

    private static final List<JsonNode> REPLACEMENTS = replacements();

    private static List<JsonNode> replacements() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        List<JsonNode> r = new ArrayList<>(List.of(f.nullNode(), f.textNode(""), f.textNode(" "), f.textNode("abc"),
                f.textNode(" final "), f.textNode("final"), f.textNode("2025-02-30"), f.textNode("2025-06-01T10:00:00+01:00"),
                f.textNode("2025"), f.textNode("#c1"), f.textNode("urn:uuid:1"), f.numberNode(0), f.numberNode(-1.50),
                f.numberNode(new java.math.BigDecimal("1e400")), f.booleanNode(true), f.objectNode(), f.arrayNode()));
        r.add(f.arrayNode().add(f.nullNode()));
        r.add(f.arrayNode().add("a"));
        r.add(f.arrayNode().add(f.objectNode()));
        r.add(f.objectNode().put("x", 1));
        r.add(f.objectNode().put("text", "t"));
        return r;
    }

    /** Every single-node change of the base: replaced by each of REPLACEMENTS, removed, or given an extra member. */
    private static List<ObjectNode> mutants(ObjectNode base) {
        List<ObjectNode> out = new ArrayList<>();
        List<List<Object>> paths = new ArrayList<>();
        collectPaths(base, new ArrayList<>(), paths);
        for (List<Object> path : paths) {
            for (JsonNode replacement : REPLACEMENTS) {
                out.add(mutate(base, path, (parent, key) -> set(parent, key, replacement.deepCopy())));
            }
            out.add(mutate(base, path, (parent, key) -> {
                if (parent instanceof ObjectNode o) {
                    o.remove((String) key);
                } else {
                    ((ArrayNode) parent).remove((Integer) key);
                }
            }));
        }
        List<Consumer<ObjectNode>> additions = List.of(
                o -> o.put("notAnElement", 1),
                o -> o.putArray("extension").addObject().put("url", "urn:x").put("valueString", "y"),
                o -> o.putObject("_" + (o.isEmpty() ? "x" : o.fieldNames().next())).put("id", "i"),
                o -> o.put("resourceType", "Observation"),
                o -> o.put("id", "element-id"),
                o -> o.putObject("effectiveDateTime").put("x", 1),
                o -> o.put("effectiveDateTime", "2025-01-01"),
                o -> o.put("valueString", "second value"),
                o -> o.putArray("contained").addObject().put("resourceType", "Specimen").put("id", "c1"));
        List<List<Object>> objects = new ArrayList<>();
        objects.add(List.of());
        for (List<Object> path : paths) {
            if (at(base, path).isObject()) {
                objects.add(path);
            }
        }
        for (List<Object> path : objects) {
            for (Consumer<ObjectNode> addition : additions) {
                ObjectNode copy = base.deepCopy();
                addition.accept((ObjectNode) at(copy, path));
                out.add(copy);
            }
        }
        return out;
    }

    private interface Edit {
        void apply(JsonNode parent, Object key);
    }

    private static ObjectNode mutate(ObjectNode base, List<Object> path, Edit edit) {
        ObjectNode copy = base.deepCopy();
        edit.apply(at(copy, path.subList(0, path.size() - 1)), path.get(path.size() - 1));
        return copy;
    }

    private static void set(JsonNode parent, Object key, JsonNode value) {
        if (parent instanceof ObjectNode o) {
            o.set((String) key, value);
        } else {
            ((ArrayNode) parent).set((Integer) key, value);
        }
    }

    private static JsonNode at(JsonNode root, List<Object> path) {
        JsonNode node = root;
        for (Object step : path) {
            node = step instanceof String s ? node.get(s) : node.get((Integer) step);
        }
        return node;
    }

    private static void collectPaths(JsonNode node, List<Object> prefix, List<List<Object>> out) {
        if (node.isObject()) {
            node.properties().forEach(p -> {
                List<Object> path = new ArrayList<>(prefix);
                path.add(p.getKey());
                out.add(path);
                collectPaths(p.getValue(), path, out);
            });
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                List<Object> path = new ArrayList<>(prefix);
                path.add(i);
                out.add(path);
                collectPaths(node.get(i), path, out);
            }
        }
    }

    /** The model the service would work on, or the 400's message. */
    private static String outcome(ResourceReader reader, Class<? extends Resource> type, ObjectNode tree) {
        try {
            return model(reader.read(type, tree, () -> "the resource"));
        } catch (RequestProblem e) {
            return "refused: " + e.getMessage();
        }
    }

    /** Every populated element: name, class and, for a primitive, its value (a decimal's scale too). */
    static String model(Resource r) {
        StringBuilder s = new StringBuilder();
        dump(r, "", s);
        s.append("parsed by HAPI's parser: ").append(r.getUserData(BaseParser.RESOURCE_CREATED_BY_PARSER)).append('\n');
        return s.toString();
    }

    private static void dump(Base base, String indent, StringBuilder s) {
        for (Property p : base.children()) {
            for (Base value : p.getValues()) {
                if (value == null) {
                    continue;
                }
                s.append(indent).append(p.getName()).append(':').append(value.getClass().getSimpleName());
                if (value instanceof PrimitiveType<?> primitive) {
                    s.append('=').append(primitive.getValueAsString());
                    if (value instanceof DecimalType d && d.getValue() != null) {
                        s.append(" (scale ").append(d.getValue().scale()).append(')');
                    }
                }
                s.append('\n');
                dump(value, indent + "  ", s);
            }
        }
    }
}
