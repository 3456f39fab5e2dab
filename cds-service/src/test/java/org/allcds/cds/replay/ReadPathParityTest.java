package org.allcds.cds.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.allcds.cds.fhirdata.FhirServerAccess;
import org.allcds.cds.fhirdata.FhirServerFetcher;
import org.allcds.fixtures.CardMatcher;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.http.MediaType;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.MvcResult;

/**
 * The prefetch path and the fhirServer path give the same cards for every fixture (card-contract.md: numbers
 * are read as written on both): each fixture as written, and written with its numbers in other legal forms
 * (counts in {@code /L} as {@code 250000000000.0}, percentages as fractions such as {@code 0.00010}, every
 * other value in exponent form such as {@code 1.02e1}); and each prefetch Bundle paged, its first half sent
 * and the rest behind a {@code next} link. The fhirServer stands in here as HAPI's parser reading the same
 * JSON (what the HAPI client does with a server's answer); {@code CdsServiceEndToEndIT} does it with a server.
 */
@SpringBootTest
@AutoConfigureMockMvc
@ActiveProfiles("test")
@Import(ReadPathParityTest.ServedByHapi.class)
class ReadPathParityTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final FhirContext FHIR = FhirContext.forR4Cached();
    private static final String FHIR_BASE = HookRequests.DEFAULT_FHIR_BASE;
    private static final Map<String, String> KEY_OF_TYPE = Map.of("Patient", "patient", "Condition", "conditions",
            "Observation", "observations", "Procedure", "procedures", "ServiceRequest", "orders");

    /** The prefetch object the stand-in fhirServer serves from (JSON text, each resource parsed by HAPI). */
    static volatile JsonNode served;

    @TestConfiguration
    static class ServedByHapi {
        @Bean
        @Primary
        FhirServerFetcher hapiParsedFhirServer() {
            return new FhirServerFetcher(FHIR, null, null, null) {
                @Override
                public Call call(FhirServerAccess access) {
                    return new Call() {
                        @Override
                        public Resource read(String relativeUrl) {
                            return parse(served.path(KEY_OF_TYPE.get(relativeUrl.substring(0, relativeUrl.indexOf('/')))));
                        }

                        @Override
                        public List<Resource> search(String relativeUrl) {
                            return entries(served.path(KEY_OF_TYPE.get(relativeUrl.substring(0, relativeUrl.indexOf('?')))), 0);
                        }

                        @Override
                        public List<Resource> pagesFrom(String nextUrl) {
                            String key = nextUrl.substring(nextUrl.indexOf("_getpages=") + "_getpages=".length());
                            return entries(served.path(key), firstPageSize(served.path(key)));
                        }
                    };
                }
            };
        }

        private static List<Resource> entries(JsonNode bundle, int from) {
            List<Resource> resources = new ArrayList<>();
            for (int i = from; i < bundle.path("entry").size(); i++) {
                resources.add(parse(bundle.path("entry").get(i).path("resource")));
            }
            return resources;
        }

        private static Resource parse(JsonNode resource) {
            try {
                return (Resource) FHIR.newJsonParser().parseResource(JSON.writeValueAsString(resource));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @Autowired
    MockMvc mvc;

    @TestFactory
    Stream<DynamicTest> prefetchPagedPrefetchAndFhirServerGiveTheSameCards() {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        List<Fixture> fixtures = FixtureCatalog.load();
        return fixtures.stream().flatMap(f -> Stream.of(false, true).map(rewritten -> DynamicTest.dynamicTest(
                f.scenario() + (rewritten ? " (numbers written otherwise)" : ""), () -> {
                    ObjectNode request = HookRequests.withPrefetch(f, today);
                    if (rewritten) {
                        writeNumbersOtherwise(request.path("prefetch"));
                    }
                    served = request.path("prefetch").deepCopy();
                    JsonNode byPrefetch = cards(call(f.service(), request));
                    assertThat(CardMatcher.mismatches(f.expectedCards(), call(f.service(), request)))
                            .as("%s by prefetch: %s", f.scenario(), byPrefetch).isEmpty();

                    ObjectNode paged = HookRequests.withFhirServer(f, today, FHIR_BASE, "token");
                    paged.set("prefetch", pagedCopy(request.path("prefetch")));
                    paged.set("context", request.path("context"));
                    assertThat(cards(call(f.service(), paged))).as("%s, paged prefetch", f.scenario()).isEqualTo(byPrefetch);

                    ObjectNode fetched = HookRequests.withFhirServer(f, today, FHIR_BASE, "token");
                    fetched.set("context", request.path("context"));
                    assertThat(cards(call(f.service(), fetched))).as("%s, from fhirServer", f.scenario()).isEqualTo(byPrefetch);
                })));
    }

    /** Each searchset Bundle of two or more entries with only its first half sent and a next link to the rest. */
    private static JsonNode pagedCopy(JsonNode prefetch) {
        ObjectNode copy = prefetch.deepCopy();
        copy.fields().forEachRemaining(key -> {
            JsonNode bundle = key.getValue();
            if (!"Bundle".equals(bundle.path("resourceType").asText()) || bundle.path("entry").size() < 2) {
                return;
            }
            ArrayNode entries = (ArrayNode) bundle.path("entry");
            int firstPage = firstPageSize(bundle);
            while (entries.size() > firstPage) {
                entries.remove(entries.size() - 1);
            }
            ArrayNode links = ((ObjectNode) bundle).putArray("link");
            links.addObject().put("relation", "self").put("url", FHIR_BASE + "/" + key.getKey());
            links.addObject().put("relation", "next").put("url", FHIR_BASE + "?_getpages=" + key.getKey());
        });
        return copy;
    }

    private static int firstPageSize(JsonNode bundle) {
        return (bundle.path("entry").size() + 1) / 2;
    }

    /**
     * Every UCUM quantity written in another legal form of the same value: counts per volume in {@code /L} with a
     * trailing zero ({@code 250000000000.0}), percentages as fractions of {@code 1} with a trailing zero
     * ({@code 0.00010}), anything else in exponent form ({@code 1.02e1}).
     */
    static void writeNumbersOtherwise(JsonNode node) {
        if (node instanceof ObjectNode object) {
            if (object.path("value").isNumber() && object.path("code").isTextual()
                    && "http://unitsofmeasure.org".equals(object.path("system").asText())) {
                BigDecimal value = object.path("value").decimalValue();
                String code = object.path("code").asText();
                if (code.equals("10*3/uL") || code.equals("10*9/L")) {
                    BigDecimal perLitre = value.movePointRight(9);
                    object.putRawValue("value", new RawValue(perLitre.setScale(Math.max(1, perLitre.scale())).toPlainString()));
                    object.put("unit", "/L").put("code", "/L");
                } else if (code.equals("%")) {
                    BigDecimal fraction = value.movePointLeft(2);
                    object.putRawValue("value", new RawValue(fraction.setScale(fraction.scale() + 1).toPlainString()));
                    object.put("unit", "1").put("code", "1");
                } else {
                    int exponent = value.signum() == 0 ? 0 : value.precision() - value.scale() - 1;
                    object.putRawValue("value", new RawValue(value.movePointLeft(exponent).toPlainString() + "e" + exponent));
                }
            }
            object.elements().forEachRemaining(ReadPathParityTest::writeNumbersOtherwise);
        } else if (node instanceof ArrayNode array) {
            array.elements().forEachRemaining(ReadPathParityTest::writeNumbersOtherwise);
        }
    }

    /** The cards without their uuids (new on every call), in topic order. */
    private static JsonNode cards(JsonNode response) {
        List<JsonNode> cards = new ArrayList<>();
        response.path("cards").forEach(card -> cards.add(withoutUuids(card.deepCopy())));
        cards.sort(Comparator.comparing(card -> card.path("source").path("topic").path("code").asText()));
        return JSON.valueToTree(cards);
    }

    private static JsonNode withoutUuids(JsonNode node) {
        if (node instanceof ObjectNode object) {
            object.remove("uuid");
            object.elements().forEachRemaining(ReadPathParityTest::withoutUuids);
        } else if (node instanceof ArrayNode array) {
            array.elements().forEachRemaining(ReadPathParityTest::withoutUuids);
        }
        return node;
    }

    private JsonNode call(String service, JsonNode request) throws Exception {
        MvcResult result = mvc.perform(post("/cds-services/" + service)
                        .contentType(MediaType.APPLICATION_JSON)
                        .content(JSON.writeValueAsBytes(request)))
                .andReturn();
        assertThat(result.getResponse().getStatus())
                .as("status for %s: %s", service, result.getResponse().getContentAsString())
                .isEqualTo(200);
        return JSON.readTree(result.getResponse().getContentAsByteArray());
    }
}
