package org.allcds.cds.cards;

import static org.assertj.core.api.Assertions.assertThat;

import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceIndicatorEnum;
import ca.uhn.hapi.fhir.cdshooks.api.json.CdsServiceResponseCardJson;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.allcds.cds.services.CardDefinition;
import org.allcds.cds.services.ServiceDefinition;
import org.junit.jupiter.api.Test;

/**
 * One card that cannot be evaluated or built never takes the others down: the decided cards go out with an
 * {@code evaluation-incomplete} card (clinical-rules.md, "Safety"; card-contract.md, "Cards").
 */
class EvaluationIncompleteTest {

    private final CardFactory factory = new CardFactory(new CardSettings("test", List.of("clinical-trial"), null, null));

    private static CardDefinition card(String topic, String prefix, String indicator) {
        return new CardDefinition(topic, topic, "diagnostic", prefix + " Fires", indicator, null, "summary of " + topic,
                "detail", prefix + " Findings", prefix + " Evidence", null, null, Map.of(), null, null, null);
    }

    private static final ServiceDefinition SERVICE = new ServiceDefinition("svc", "patient-view", "t", "d", "Lib",
            "Has ALL", Map.of(), List.of(
                    card("tx-relapse-review", "Relapse", "critical"),
                    card("dx-relapse-characterization", "Characterization", "warning")));

    private static Map<String, Object> bothFire() {
        Map<String, Object> results = new HashMap<>();
        results.put("Has ALL", true);
        for (String prefix : List.of("Relapse", "Characterization")) {
            results.put(prefix + " Fires", true);
            results.put(prefix + " Findings", List.of("why"));
            results.put(prefix + " Evidence", List.of("Observation/o1"));
        }
        return results;
    }

    private static List<String> topics(List<CdsServiceResponseCardJson> cards) {
        return cards.stream().map(c -> c.getSource().getTopic().getCode()).toList();
    }

    @Test
    void aCardWhoseDefinitionFailedIsLeftOutAndTheOthersStand() {
        Map<String, Object> results = bothFire();
        results.remove("Characterization Findings");
        List<CdsServiceResponseCardJson> cards = factory.build(SERVICE, results,
                Map.of("Characterization Findings", new IllegalStateException("engine refused a value")), "p1");
        assertThat(topics(cards)).containsExactly("tx-relapse-review", "evaluation-incomplete");
        CdsServiceResponseCardJson incomplete = cards.get(1);
        assertThat(incomplete.getIndicator()).isEqualTo(CdsServiceIndicatorEnum.WARNING);
        assertThat(incomplete.getSummary()).contains("failed").hasSizeLessThan(140);
        assertThat(incomplete.getDetail()).contains("dx-relapse-characterization").doesNotContain("**Evidence**");
        assertThat(incomplete.getSuggestions()).isNullOrEmpty();
    }

    @Test
    void aCardThatCannotBeBuiltIsLeftOutAndTheOthersStand() {
        Map<String, Object> results = bothFire();
        results.put("Characterization Evidence", List.of()); // fired without evidence: cannot be built
        List<CdsServiceResponseCardJson> cards = factory.build(SERVICE, results, Map.of(), "p1");
        assertThat(topics(cards)).containsExactly("tx-relapse-review", "evaluation-incomplete");
        assertThat(cards.get(0).getIndicator()).isEqualTo(CdsServiceIndicatorEnum.CRITICAL);
    }

    @Test
    void aFailedDefinitionOfACardThatDidNotFireLosesNothing() {
        Map<String, Object> results = bothFire();
        results.put("Characterization Fires", false);
        results.remove("Characterization Findings");
        List<CdsServiceResponseCardJson> cards = factory.build(SERVICE, results,
                Map.of("Characterization Findings", new IllegalStateException("x")), "p1");
        assertThat(topics(cards)).containsExactly("tx-relapse-review");
    }

    @Test
    void aFailedGateGivesOnlyTheIncompleteCard() {
        Map<String, Object> results = bothFire();
        results.remove("Has ALL");
        List<CdsServiceResponseCardJson> cards = factory.build(SERVICE, results,
                Map.of("Has ALL", new IllegalStateException("x")), "p1");
        assertThat(topics(cards)).containsExactly("evaluation-incomplete");
    }

    @Test
    void aCompleteEvaluationHasNoIncompleteCard() {
        assertThat(topics(factory.build(SERVICE, bothFire(), Map.of(), "p1")))
                .containsExactly("tx-relapse-review", "dx-relapse-characterization");
    }
}
