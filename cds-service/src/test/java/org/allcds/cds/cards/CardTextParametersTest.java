package org.allcds.cds.cards;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.LocalDate;
import java.time.ZoneOffset;
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

/** A card's text states the threshold in force, not the default (issue 18, item 18). */
@SpringBootTest(properties = {
        "all-cds.evaluation.parameters.marrow-blast-threshold-percent=10",
        "all-cds.evaluation.parameters.induction-marrow-after-day=24" })
@AutoConfigureMockMvc
@ActiveProfiles("test")
class CardTextParametersTest {

    @Autowired
    MockMvc mvc;

    private final ObjectMapper json = new ObjectMapper();

    private JsonNode cards(String scenario) throws Exception {
        Fixture f = FixtureCatalog.load().stream().filter(x -> x.scenario().equals(scenario)).findFirst().orElseThrow();
        JsonNode request = HookRequests.withPrefetch(f, LocalDate.now(ZoneOffset.UTC));
        byte[] body = mvc.perform(post("/cds-services/" + f.service()).contentType(MediaType.APPLICATION_JSON)
                .content(json.writeValueAsBytes(request))).andReturn().getResponse().getContentAsByteArray();
        return json.readTree(body).path("cards");
    }

    private static String detailOf(JsonNode cards, String topic) {
        for (JsonNode c : cards) {
            if (c.path("source").path("topic").path("code").asText().equals(topic)) {
                return ClinicianCardTextTest.shown(c.path("detail").asText()); // as the clinician reads it
            }
        }
        throw new AssertionError("no " + topic + " card in " + cards);
    }

    @Test
    void refractoryCardStatesTheMarrowThresholdInForce() throws Exception {
        String detail = detailOf(cards("refractory"), "tx-refractory-review");
        assertThat(detail).contains("10 % blasts or more").doesNotContain("5 % blasts");
    }

    @Test
    void inductionCardStatesTheDayInForce() throws Exception {
        String detail = detailOf(cards("induction-due"), "dx-induction-response");
        assertThat(detail).contains("after day 24").doesNotContain("day 21");
    }
}
