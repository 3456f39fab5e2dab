package org.allcds.cds.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.function.Consumer;
import org.allcds.cds.problems.RequestProblem;
import org.junit.jupiter.api.Test;

/** The CDS Hooks 2.0 request members the parser checks itself (hookInstance, fhirAuthorization), and the JSON itself. */
class HookRequestParserTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HookRequestParser parser = new HookRequestParser();

    private static ObjectNode request() {
        ObjectNode r = JSON.createObjectNode();
        r.put("hook", "patient-view");
        r.put("hookInstance", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea");
        r.putObject("context").put("patientId", "p-1").put("userId", "Practitioner/1");
        r.put("fhirServer", "https://ehr.example.org/fhir");
        r.putObject("fhirAuthorization").put("access_token", "t").put("token_type", "Bearer").put("expires_in", 300)
                .put("scope", "patient/*.read").put("subject", "all-cds");
        return r;
    }

    private HookRequest parse(ObjectNode r) throws Exception {
        return parser.parse(JSON.writeValueAsBytes(r));
    }

    private static ObjectNode auth(ObjectNode r) {
        return (ObjectNode) r.get("fhirAuthorization");
    }

    @Test
    void aSpecFollowingRequestIsRead() throws Exception {
        HookRequest read = parse(request());
        assertThat(read.hook()).isEqualTo("patient-view");
        assertThat(read.hookInstance()).isEqualTo(java.util.UUID.fromString("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"));
        assertThat(read.fhirServer()).isEqualTo("https://ehr.example.org/fhir");
        assertThat(read.fhirAuthorization()).isEqualTo(
                new HookRequest.FhirAuthorization("t", "Bearer", 300L, "patient/*.read", "all-cds", null));
        assertThat(read.fhirAuthorization().toString()).doesNotContain("=t,"); // the token is never logged
        assertThat(read.fhirServerAccess().accessToken()).isEqualTo("t");
        assertThat(read.context()).isEqualTo(new HookRequest.Context("p-1", "Practitioner/1", null, null, null));
        assertThat(read.patientId()).isEqualTo("p-1");
        ObjectNode lowerCase = request();
        auth(lowerCase).put("token_type", "bearer").put("patient", "p-1"); // case-insensitive; the context's patient
        assertThat(parse(lowerCase).fhirServerAccess()).isNotNull();

        ObjectNode noServer = request();
        noServer.remove("fhirServer");
        noServer.remove("fhirAuthorization");
        assertThat(parse(noServer).fhirServerAccess()).isNull();
        assertThat(parse(noServer).fhirAuthorization()).isNull();
    }

    @Test
    void orderSelectsContextIsTyped() throws Exception {
        ObjectNode r = request();
        r.put("hook", "order-select");
        ObjectNode context = (ObjectNode) r.get("context");
        context.put("encounterId", "e-1");
        context.putArray("selections").add("ServiceRequest/sr-1");
        context.putObject("draftOrders").put("resourceType", "Bundle").putArray("entry");
        HookRequest read = parse(r);
        assertThat(read.context().encounterId()).isEqualTo("e-1");
        assertThat(read.context().selections()).containsExactly("ServiceRequest/sr-1");
        assertThat(read.context().draftOrders().path("resourceType").asText()).isEqualTo("Bundle");

        for (String flaw : List.of("{\"selections\":\"ServiceRequest/sr-1\"}", "{\"selections\":[1]}",
                "{\"draftOrders\":[]}", "{\"userId\":7}")) {
            ObjectNode bad = r.deepCopy();
            ((ObjectNode) bad.get("context")).setAll((ObjectNode) JSON.readTree(flaw));
            assertThatThrownBy(() -> parse(bad)).as(flaw).isInstanceOf(RequestProblem.class)
                    .hasMessageContaining("context." + JSON.readTree(flaw).fieldNames().next());
        }
    }

    @Test
    void flawsInHookInstanceOrFhirAuthorizationAre400NamingTheMember() {
        List<Object[]> flaws = List.of(
                new Object[] {(Consumer<ObjectNode>) r -> r.put("hookInstance", "not-a-uuid"), "hookInstance"},
                new Object[] {(Consumer<ObjectNode>) r -> r.put("hookInstance", "1-1-1-1-1"), "hookInstance"},
                new Object[] {(Consumer<ObjectNode>) r -> r.put("hookInstance", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea\n"), "hookInstance"},
                new Object[] {(Consumer<ObjectNode>) r -> auth(r).remove("token_type"), "fhirAuthorization.token_type"},
                new Object[] {(Consumer<ObjectNode>) r -> auth(r).put("token_type", "MAC"), "fhirAuthorization.token_type"},
                new Object[] {(Consumer<ObjectNode>) r -> auth(r).put("token_type", 1), "fhirAuthorization.token_type"},
                new Object[] {(Consumer<ObjectNode>) r -> auth(r).remove("subject"), "fhirAuthorization.subject"},
                new Object[] {(Consumer<ObjectNode>) r -> auth(r).put("subject", ""), "fhirAuthorization.subject"},
                new Object[] {(Consumer<ObjectNode>) r -> auth(r).put("patient", "someone-else"), "fhirAuthorization.patient"},
                new Object[] {(Consumer<ObjectNode>) r -> auth(r).put("patient", 7), "fhirAuthorization.patient"});
        for (Object[] flaw : flaws) {
            ObjectNode r = request();
            @SuppressWarnings("unchecked")
            Consumer<ObjectNode> breakage = (Consumer<ObjectNode>) flaw[0];
            breakage.accept(r);
            assertThatThrownBy(() -> parse(r)).as(r.toString())
                    .isInstanceOfSatisfying(RequestProblem.class, p -> {
                        assertThat(p.status().value()).isEqualTo(400);
                        assertThat(p.code()).isEqualTo("invalid-request");
                        assertThat(p.getMessage()).contains((String) flaw[1]);
                    });
        }
    }

    /** A member given twice is ambiguous wherever it is (also deep in a prefetch Bundle's entry): a 400 naming it. */
    @Test
    void aMemberGivenTwiceAnywhereIsRefusedNamingItAndWhere() throws Exception {
        StringBuilder wide = new StringBuilder("{");
        for (int i = 0; i < 200; i++) {
            wide.append(i == 0 ? "" : ",").append("\"m").append(199 - i).append("\":").append(i);
        }
        String body = wide.append("}").toString();
        assertThat(parser.readTree(bytes(body)).get("m0").intValue()).isEqualTo(199);
        ObjectNode withPrefetch = request();
        withPrefetch.putObject("prefetch").putObject("observations").put("resourceType", "Bundle").putArray("entry")
                .addObject().putObject("resource").put("resourceType", "Observation").put("status", "final");
        String entryTwice = JSON.writeValueAsString(withPrefetch).replace("\"status\":\"final\"", "\"status\":\"final\",\"status\":\"final\"");
        for (String duplicated : List.of(
                "{\"hook\":\"patient-view\",\"hook\":\"order-select\"}",
                "{\"a\":{\"b\":1,\"c\":2,\"d\":3,\"b\":null}}",
                "{\"a\":[{\"x\":1},{\"y\":[],\"y\":{}}]}",
                body.replace("\"m0\":199}", "\"m0\":199,\"m150\":1}"),
                entryTwice)) {
            for (java.util.function.Consumer<byte[]> read : List.<java.util.function.Consumer<byte[]>>of(parser::readTree, parser::parse)) {
                assertThatThrownBy(() -> read.accept(bytes(duplicated)))
                        .isInstanceOfSatisfying(RequestProblem.class, p -> assertThat(p.code()).isEqualTo("malformed-json"))
                        .hasMessageStartingWith("request body is not valid JSON: Duplicate field '")
                        .hasMessageContaining(" at line 1, column ")
                        .hasMessageNotContaining("FAIL_ON");
            }
        }
    }

    /** Bytes after the document ("{...} garbage", a second document) are a 400; whitespace after it is fine. */
    @Test
    void bytesAfterTheDocumentAreRefused() throws Exception {
        String text = JSON.writeValueAsString(request());
        for (String tail : List.of(" garbage", "{}", "\n{\"hook\":\"patient-view\"}", " ]", " 1", " \"x\"")) {
            assertThatThrownBy(() -> parser.parse(bytes(text + tail))).as(tail)
                    .isInstanceOfSatisfying(RequestProblem.class, p -> assertThat(p.code()).isEqualTo("malformed-json"))
                    .hasMessageStartingWith("request body is not valid JSON: ").hasMessageNotContaining("FAIL_ON");
            assertThatThrownBy(() -> parser.readTree(bytes(text + tail))).isInstanceOf(RequestProblem.class);
        }
        assertThatThrownBy(() -> parser.parse(bytes(text + "{}")))
                .hasMessageStartingWith("request body is not valid JSON: content after the end of the JSON document at line 1");
        assertThat(parser.parse(bytes(text + " \n\t")).hook()).isEqualTo("patient-view");
        for (String notOne : List.of("", " ", "[", "{\"hook\":")) {
            assertThatThrownBy(() -> parser.parse(bytes(notOne))).as(notOne)
                    .isInstanceOfSatisfying(RequestProblem.class, p -> assertThat(p.code()).isEqualTo("malformed-json"));
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
