package org.allcds.cds.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.function.Consumer;
import org.allcds.cds.problems.RequestProblem;
import org.junit.jupiter.api.Test;

/** The CDS Hooks 2.0 request members the parser checks itself: hookInstance, fhirAuthorization. */
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
}
