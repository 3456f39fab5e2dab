package org.allcds.cds.fhirdata;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IJsonLikeParser;
import ca.uhn.fhir.parser.IParserErrorHandler;
import ca.uhn.fhir.parser.LenientErrorHandler;
import ca.uhn.fhir.parser.StrictErrorHandler;
import ca.uhn.fhir.parser.json.JsonLikeStructure;
import ca.uhn.fhir.parser.json.jackson.JacksonStructure;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.allcds.cds.hooks.HookRequestParser;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.junit.jupiter.api.Test;

/**
 * {@link JacksonTreeStructure} against HAPI's own {@link JacksonStructure}: every resource must parse to
 * the same resource (as HAPI prints it back) or fail with the same error, with the service's lenient
 * error handler and with a strict one.
 */
class JacksonTreeStructureTest {

    private static final FhirContext FHIR = FhirContext.forR4Cached();
    private final HookRequestParser requests = new HookRequestParser(); // the service's own JSON reading

    @Test
    void everyFixtureResourceParsesAsThroughHapisAdapter() {
        List<JsonNode> resources = new ArrayList<>();
        for (Fixture f : FixtureCatalog.load()) {
            resources.addAll(f.resources(LocalDate.of(2025, 6, 1)));
        }
        assertThat(resources).hasSizeGreaterThan(300);
        for (JsonNode r : resources) {
            compare(r.toString());
        }
    }

    @Test
    void primitiveExtensionsDecimalsNullsAndBadValuesParseAsThroughHapisAdapter() {
        List<String> cases = List.of(
                // a primitive's extension next to its value, without a value, and in arrays with nulls
                """
                {"resourceType":"Patient","id":"p","birthDate":"2010-01-01",
                 "_birthDate":{"extension":[{"url":"urn:x","valueString":"approx"}]},
                 "_gender":{"extension":[{"url":"urn:y","valueCode":"unknown"}]},
                 "name":[{"given":["A",null,"C"],"_given":[null,{"id":"g2","extension":[{"url":"urn:z","valueBoolean":true}]},null]}]}""",
                // decimals: trailing zeros, exponent, negative zero, integer-valued, huge
                """
                {"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},
                 "valueQuantity":{"value":1.50,"unit":"g/dL"},
                 "referenceRange":[{"low":{"value":1e2},"high":{"value":-0.0}},{"low":{"value":12},"high":{"value":123456789012345678901234567890.123}}]}""",
                // a status carried only as an extension; unknown elements; contained resources
                """
                {"resourceType":"Observation","id":"o2","_status":{"extension":[{"url":"urn:s","valueString":"?"}]},
                 "code":{"coding":[{"system":"http://loinc.org","code":"6690-2","userSelected":false}]},
                 "notAnElement":{"deep":[1,2,3]},
                 "contained":[{"resourceType":"Patient","id":"c1","active":true}],
                 "subject":{"reference":"#c1"}}""",
                // values of the wrong JSON type, and invalid values
                """
                {"resourceType":"Observation","id":"o3","status":"final","code":{"text":"x"},"valueQuantity":{"value":"12"}}""",
                """
                {"resourceType":"Observation","id":"o4","status":"final","code":{"text":"x"},"effectiveDateTime":"yesterday"}""",
                """
                {"resourceType":"Observation","id":"o5","status":"final","code":{"text":"x"},"valueBoolean":"true"}""",
                """
                {"resourceType":"Observation","id":"o6","status":"final","code":{"coding":{"code":"not an array"}}}""",
                """
                {"resourceType":"Observation","id":"o7","status":null,"code":{"text":"x"},"_code":{"id":"c"},"issued":12}""",
                """
                {"resourceType":"Patient","id":"p2","_":{"x":1},"name":[{"_family":"text, not an object"}]}""");
        for (String json : cases) {
            compare(json);
        }
    }

    /** Decimals as Jackson's DecimalNode too (the service reads them as doubles; HAPI's own mapper does not). */
    private static final com.fasterxml.jackson.databind.ObjectMapper BIG_DECIMALS = new com.fasterxml.jackson.databind.ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .setNodeFactory(new com.fasterxml.jackson.databind.node.JsonNodeFactory(true));

    private void compare(String json) {
        List<ObjectNode> trees = new ArrayList<>();
        trees.add((ObjectNode) requests.readTree(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        try {
            trees.add((ObjectNode) BIG_DECIMALS.readTree(json));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        for (ObjectNode tree : trees) {
            compare(json, tree);
        }
    }

    private void compare(String json, ObjectNode tree) {
        for (Supplier<IParserErrorHandler> handler : List.<Supplier<IParserErrorHandler>>of(
                () -> new LenientErrorHandler(false).setErrorOnInvalidValue(true), StrictErrorHandler::new)) {
            String hapi = outcome(tree, handler.get(), node -> {
                JacksonStructure s = new JacksonStructure();
                s.setNativeObject(node);
                return s;
            });
            String ours = outcome(tree, handler.get(), JacksonTreeStructure::new);
            assertThat(ours).as(json).isEqualTo(hapi);
        }
    }

    /** The parsed resource printed back by HAPI, or the error's type and message. */
    private static String outcome(ObjectNode tree, IParserErrorHandler handler,
            Function<ObjectNode, JsonLikeStructure> structure) {
        IJsonLikeParser parser = (IJsonLikeParser) FHIR.newJsonParser().setParserErrorHandler(handler);
        try {
            IBaseResource r = parser.parseResource(structure.apply(tree));
            return FHIR.newJsonParser().encodeResourceToString(r);
        } catch (RuntimeException e) {
            return e.getClass().getName() + ": " + e.getMessage();
        }
    }
}
