package org.allcds.cds.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.LocalDate;
import java.time.ZoneOffset;
import org.allcds.fixtures.CardMatcher;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.http.MediaType;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.MvcResult;

/** order-select's context (card-contract.md, "order-select"): selections, draftOrders of any order type. */
@SpringBootTest
@AutoConfigureMockMvc
@ActiveProfiles("test")
class OrderSelectContextTest {

    @Autowired
    MockMvc mvc;

    private final ObjectMapper json = new ObjectMapper();

    private static ObjectNode request(String scenario) {
        Fixture fixture = FixtureCatalog.load().stream().filter(f -> f.scenario().equals(scenario)).findFirst().orElseThrow();
        return HookRequests.withPrefetch(fixture, LocalDate.now(ZoneOffset.UTC));
    }

    private MvcResult call(JsonNode request) throws Exception {
        return mvc.perform(post("/cds-services/all-order-followup").contentType(MediaType.APPLICATION_JSON)
                .content(json.writeValueAsBytes(request))).andReturn();
    }

    @Test
    void aSelectionNamingNoDraftOrderIsRefusedByName() throws Exception {
        ObjectNode request = request("order-csf-selected-only");
        ((ArrayNode) request.path("context").path("selections")).add("ServiceRequest/not-on-the-form");
        MvcResult result = call(request);
        assertThat(result.getResponse().getStatus()).isEqualTo(400);
        JsonNode body = json.readTree(result.getResponse().getContentAsString());
        assertThat(body.path("error").asText()).isEqualTo("invalid-selection");
        assertThat(body.path("message").asText()).contains("ServiceRequest/not-on-the-form");
    }

    @Test
    void aMedicationRequestAmongTheDraftOrdersIsIgnoredNotRefused() throws Exception {
        ObjectNode request = request("order-csf-selected-only");
        assertThat(request.path("context").path("draftOrders").toString()).contains("MedicationRequest");
        MvcResult result = call(request);
        assertThat(result.getResponse().getStatus()).as(result.getResponse().getContentAsString()).isEqualTo(200);
        JsonNode cards = json.readTree(result.getResponse().getContentAsString());
        assertThat(CardMatcher.actualTopics(cards)).containsExactly("dx-order-companions");
    }

    @Test
    void onlySelectedOrdersTrigger() throws Exception {
        ObjectNode request = request("order-csf-selected-only");
        ArrayNode selections = (ArrayNode) request.path("context").path("selections");
        selections.removeAll(); // nothing selected: the drafts are only on the form
        MvcResult result = call(request);
        assertThat(result.getResponse().getStatus()).isEqualTo(200);
        assertThat(CardMatcher.actualTopics(json.readTree(result.getResponse().getContentAsString()))).isEmpty();
    }
}
