package org.allcds.cds.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Stream;
import org.allcds.fixtures.CardMatcher;
import org.allcds.fixtures.Fixture;
import org.allcds.fixtures.FixtureCatalog;
import org.allcds.fixtures.HookRequests;
import org.allcds.cds.evaluation.CqlEvaluationService;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.web.servlet.AutoConfigureMockMvc;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.http.MediaType;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.MvcResult;

/**
 * Replays every fixture bundle of fhir-fixtures through the whole service in-process (HTTP layer,
 * prefetch reading, CQL, cards) and compares the cards with the fixture's expectations.
 */
@SpringBootTest
@AutoConfigureMockMvc
@ActiveProfiles("test")
class FixtureReplayTest {

    @Autowired
    MockMvc mvc;

    @Autowired
    CqlEvaluationService evaluation;

    /** The compiled ELM evaluates by default; {@link FixtureReplayInterpreterTest} replays with the interpreter. */
    boolean interpreterExpected() {
        return false;
    }

    @Test
    void evaluatedAsConfigured() {
        assertThat(evaluation.interpreted()).isEqualTo(interpreterExpected());
    }

    private final ObjectMapper json = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> everyFixtureGivesItsExpectedCards() {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        List<Fixture> fixtures = FixtureCatalog.load();
        assertThat(fixtures).hasSizeGreaterThanOrEqualTo(17);
        return fixtures.stream().map(f -> DynamicTest.dynamicTest(f.scenario(), () -> {
            JsonNode request = HookRequests.withPrefetch(f, today);
            JsonNode response = call(f.service(), request);
            assertThat(CardMatcher.mismatches(f.expectedCards(), response))
                    .as("%s: cards %s", f.scenario(), CardMatcher.actualLabels(response))
                    .isEmpty();
            CardContract.assertEveryCardFollowsTheContract(request, response);
        }));
    }

    private JsonNode call(String service, JsonNode request) throws Exception {
        MvcResult result = mvc.perform(post("/cds-services/" + service)
                        .contentType(MediaType.APPLICATION_JSON)
                        .content(json.writeValueAsBytes(request)))
                .andReturn();
        assertThat(result.getResponse().getStatus())
                .as("status for %s: %s", service, result.getResponse().getContentAsString())
                .isEqualTo(200);
        return json.readTree(result.getResponse().getContentAsByteArray());
    }
}
