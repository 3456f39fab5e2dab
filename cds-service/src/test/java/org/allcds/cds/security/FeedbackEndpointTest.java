package org.allcds.cds.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.http.MediaType;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.MvcResult;

/**
 * {@code POST /cds-services/{id}/feedback} (CDS Hooks 2.0 "Feedback") through the whole service in-process
 * (test profile, as BadInputTest: the Spring context is shared): the shape is checked item by item, at most
 * {@code all-cds.feedback.max-items} items, and each call is one escaped log line.
 */
@SpringBootTest
@AutoConfigureMockMvc
@ActiveProfiles("test")
@ExtendWith(OutputCaptureExtension.class)
class FeedbackEndpointTest {

    static final String FEEDBACK = "/cds-services/all-disease-status/feedback";

    @Autowired
    MockMvc mvc;

    private final ObjectMapper json = new ObjectMapper();

    record Answer(int status, JsonNode body) {}

    private Answer send(String body) throws Exception {
        MvcResult r = mvc.perform(post(FEEDBACK).contentType(MediaType.APPLICATION_JSON).content(body)).andReturn();
        String text = r.getResponse().getContentAsString(StandardCharsets.UTF_8);
        assertThat(text).doesNotContain("Exception");
        return new Answer(r.getResponse().getStatus(), json.readTree(text.isEmpty() ? "{}" : text));
    }

    private Answer send(JsonNode body) throws Exception {
        return send(json.writeValueAsString(body));
    }

    private ObjectNode accepted() {
        ObjectNode item = json.createObjectNode();
        item.put("card", UUID.randomUUID().toString());
        item.put("outcome", "accepted");
        item.putArray("acceptedSuggestions").addObject().put("id", UUID.randomUUID().toString());
        item.put("outcomeTimestamp", "2025-06-01T10:15:30Z");
        return item;
    }

    private ObjectNode overridden() {
        ObjectNode item = json.createObjectNode();
        item.put("card", UUID.randomUUID().toString());
        item.put("outcome", "overridden");
        ObjectNode reason = item.putObject("overrideReason");
        reason.putObject("reason").put("system", "urn:all-cds:override-reason").put("code", "already-addressed")
                .put("display", "Already addressed");
        reason.put("userComment", "ordered yesterday");
        item.put("outcomeTimestamp", "2025-06-01T12:15:30+02:00");
        return item;
    }

    private ObjectNode body(JsonNode... items) {
        ObjectNode body = json.createObjectNode();
        ArrayNode feedback = body.putArray("feedback");
        for (JsonNode item : items) {
            feedback.add(item);
        }
        return body;
    }

    @Test
    void spec2FeedbackIsAccepted() throws Exception {
        ObjectNode withoutReason = overridden();
        withoutReason.remove("overrideReason");
        ObjectNode commentOnly = overridden();
        ((ObjectNode) commentOnly.get("overrideReason")).remove("reason");
        ObjectNode extended = accepted();
        extended.putObject("extension").put("com.example.ehr", "x");
        Answer a = send(body(accepted(), overridden(), withoutReason, commentOnly, extended));
        assertThat(a.status()).as(a.body().toString()).isEqualTo(200);
        assertThat(a.body().isObject()).isTrue();
    }

    @Test
    void eachFlawIs400NamingTheItemAndField() throws Exception {
        List<Object[]> flaws = List.of(
                flaw(i -> i.put("card", "c1"), "card"),
                flaw(i -> i.put("card", UUID.randomUUID() + "\nforged"), "card"),
                flaw(i -> i.remove("card"), "card"),
                flaw(i -> i.put("outcome", "ignored"), "outcome"),
                flaw(i -> i.put("outcomeTimestamp", "yesterday"), "outcomeTimestamp"),
                flaw(i -> i.put("outcomeTimestamp", "2025-06-01T10:15:30"), "outcomeTimestamp"), // no zone
                flaw(i -> i.put("outcomeTimestamp", 1748772930), "outcomeTimestamp"),
                flaw(i -> i.remove("acceptedSuggestions"), "acceptedSuggestions"),
                flaw(i -> i.putArray("acceptedSuggestions"), "acceptedSuggestions"),
                flaw(i -> i.put("acceptedSuggestions", "all"), "acceptedSuggestions"),
                flaw(i -> ((ObjectNode) i.path("acceptedSuggestions").get(0)).put("id", "s1"), "acceptedSuggestions[0].id"),
                flaw(i -> ((ObjectNode) i.path("acceptedSuggestions").get(0)).put("label", "x"), "acceptedSuggestions[0].label"),
                flaw(i -> i.set("overrideReason", overridden().get("overrideReason")), "overrideReason"),
                flaw(i -> i.put("foo", 1), "foo"),
                flaw(i -> i.put("extension", "x"), "extension"));
        List<Object[]> overrideFlaws = List.of(
                flaw(i -> reason(i).put("code", "because"), "overrideReason.reason.code"),
                flaw(i -> reason(i).remove("code"), "overrideReason.reason.code"),
                flaw(i -> reason(i).put("system", "http://snomed.info/sct"), "overrideReason.reason.system"),
                flaw(i -> reason(i).put("version", "1"), "overrideReason.reason.version"),
                flaw(i -> i.put("overrideReason", "busy"), "overrideReason"),
                flaw(i -> ((ObjectNode) i.get("overrideReason")).put("userComment", 5), "overrideReason.userComment"),
                flaw(i -> i.set("acceptedSuggestions", accepted().get("acceptedSuggestions")), "acceptedSuggestions"));
        for (List<Object[]> list : List.of(flaws, overrideFlaws)) {
            for (Object[] flaw : list) {
                ObjectNode item = list == flaws ? accepted() : overridden();
                @SuppressWarnings("unchecked")
                Consumer<ObjectNode> breakage = (Consumer<ObjectNode>) flaw[0];
                breakage.accept(item);
                Answer a = send(body(accepted(), item));
                assertThat(a.status()).as(item.toString()).isEqualTo(400);
                assertThat(a.body().path("error").asText()).isEqualTo("invalid-feedback");
                assertThat(a.body().path("message").asText()).as(item.toString()).contains("feedback[1]." + flaw[1]);
            }
        }
        Answer notAnObject = send(body(accepted(), json.getNodeFactory().textNode("accepted")));
        assertThat(notAnObject.status()).isEqualTo(400);
        assertThat(notAnObject.body().path("message").asText()).contains("feedback[1]");
        for (String bad : List.of("{}", "{\"feedback\":[]}", "{\"feedback\":{}}", "[]")) {
            Answer a = send(bad);
            assertThat(a.status()).as(bad).isEqualTo(400);
            assertThat(a.body().path("error").asText()).isIn("invalid-feedback", "malformed-json");
        }
        Answer trailing = send(json.writeValueAsString(body(accepted())) + " garbage");
        assertThat(trailing.status()).isEqualTo(400);
        assertThat(trailing.body().path("error").asText()).isEqualTo("malformed-json");
    }

    @Test
    void moreItemsThanTheLimitIs400NamingIt() throws Exception {
        JsonNode[] items = new JsonNode[101];
        for (int i = 0; i < items.length; i++) {
            items[i] = accepted();
        }
        Answer a = send(body(items));
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body().path("error").asText()).isEqualTo("invalid-feedback");
        assertThat(a.body().path("message").asText()).contains("100");
        assertThat(send(body(java.util.Arrays.copyOf(items, 100))).status()).isEqualTo(200);
    }

    @Test
    void oneLogLinePerCallWithNothingTheCallerWroteUnescaped(CapturedOutput output) throws Exception {
        JsonNode[] items = new JsonNode[40];
        for (int i = 0; i < items.length; i++) {
            ObjectNode item = i % 2 == 0 ? accepted() : overridden();
            if (item.has("overrideReason")) {
                ((ObjectNode) item.get("overrideReason")).put("userComment", "fine\nERROR forged-line\u2028x");
            }
            items[i] = item;
        }
        int before = feedbackLines(output);
        assertThat(send(body(items)).status()).isEqualTo(200);
        assertThat(feedbackLines(output) - before).isEqualTo(1);
        assertThat(output.getAll()).doesNotContain("\nERROR forged-line").doesNotContain("\u2028");
        String line = output.getAll().lines().filter(l -> l.contains("feedback service=")).reduce((a, b) -> b).orElseThrow();
        assertThat(line).contains("items=40").contains("accepted=20").contains("overridden=20");
    }

    private static int feedbackLines(CapturedOutput output) {
        return (int) output.getAll().lines().filter(l -> l.contains("CdsHooksController")).count();
    }

    private static Object[] flaw(Consumer<ObjectNode> breakage, String field) {
        return new Object[] {breakage, field};
    }

    private static ObjectNode reason(ObjectNode item) {
        return (ObjectNode) item.path("overrideReason").path("reason");
    }
}
