package org.allcds.cds.replay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashSet;
import java.util.Set;

/** The card shape of card-contract.md, checked on every card a test sees. */
final class CardContract {

    static final Set<String> TOPICS = Set.of("dx-baseline-workup", "dx-induction-response", "dx-relapse-workup",
            "dx-relapse-characterization", "dx-remission-monitoring", "dx-order-companions", "tx-relapse-review",
            "tx-refractory-review", "tx-mrd-review", "status-remission", "data-conflict", "evaluation-incomplete");

    private CardContract() {}

    static void assertEveryCardFollowsTheContract(JsonNode request, JsonNode response) {
        Set<String> known = referencesIn(request);
        Set<String> topics = new HashSet<>();
        assertThat(response.path("cards").isArray()).as("cards array").isTrue();
        for (JsonNode card : response.path("cards")) {
            String topic = card.path("source").path("topic").path("code").asText();
            assertThat(topics.add(topic)).as("one card per topic: %s", topic).isTrue();
            assertThat(TOPICS).contains(topic);
            assertThat(card.path("source").path("topic").path("system").asText()).isEqualTo("urn:all-cds:card-topic");
            assertThat(card.path("source").path("label").asText()).isNotBlank();
            assertThat(card.path("uuid").asText()).matches("[0-9a-f-]{36}");
            assertThat(card.path("summary").asText()).isNotBlank().hasSizeLessThan(140);
            assertThat(card.path("indicator").asText()).isIn("info", "warning", "critical");
            // the references are in the extension, never in the text a clinician reads
            assertThat(card.path("detail").asText()).as("%s detail", topic).isNotBlank().doesNotContain("**Evidence**");
            JsonNode ext = card.path("extension").path("all-cds");
            // evaluation-incomplete may name no evidence: no result is at fault (card-contract.md)
            assertThat(ext.path("evidence").isArray() && (!ext.path("evidence").isEmpty() || topic.equals("evaluation-incomplete")))
                    .as("%s evidence", topic).isTrue();
            for (JsonNode ref : ext.path("evidence")) {
                assertThat(known).as("%s evidence names a resource of the request", topic).contains(ref.asText());
            }
            if (topic.startsWith("tx-")) {
                assertThat(ext.path("treatmentOptions").isArray() && !ext.path("treatmentOptions").isEmpty())
                        .as("%s options", topic).isTrue();
                assertThat(ext.path("treatmentOptions").toString()).contains("clinical-trial");
            }
            if (topic.equals("tx-relapse-review")) {
                assertThat(ext.path("relapseSite").asText()).isIn("marrow", "cns", "combined");
                assertThat(ext.path("relapseTiming").asText()).isIn("early", "late", "unknown");
                assertThat(ext.has("monthsSinceRemission")).isTrue();
            }
            // CDS Hooks 2.0: selectionBehavior is required when a card has suggestions (this service: any)
            if (!card.path("suggestions").isEmpty()) {
                assertThat(card.path("selectionBehavior").asText()).as("%s selectionBehavior", topic).isEqualTo("any");
            }
            assertThat(card.has("selectionBehaviour")).as("British spelling is not the spec's member").isFalse();
            if (topic.equals("status-remission")) {
                assertRemissionUpdate(card, request);
                continue;
            }
            for (JsonNode suggestion : card.path("suggestions")) {
                assertThat(topic).startsWith("dx-");
                assertThat(suggestion.path("label").asText()).isNotBlank();
                JsonNode action = suggestion.path("actions").path(0);
                assertThat(action.path("type").asText()).isEqualTo("create");
                JsonNode sr = action.path("resource");
                assertThat(sr.path("resourceType").asText()).isEqualTo("ServiceRequest");
                assertThat(sr.path("code").path("coding").path(0).path("system").asText())
                        .isIn("http://loinc.org", "http://snomed.info/sct");
                assertThat(sr.path("subject").path("reference").asText())
                        .isEqualTo("Patient/" + request.path("context").path("patientId").asText());
            }
        }
    }

    /**
     * card-contract.md: status-remission carries a suggestion whose actions update the record's ALL Condition to
     * remission: the Condition as the request holds it, only its clinical status changed.
     */
    static void assertRemissionUpdate(JsonNode card, JsonNode request) {
        assertThat(card.path("suggestions").size()).as("status-remission suggestions").isEqualTo(1);
        JsonNode suggestion = card.path("suggestions").path(0);
        assertThat(suggestion.path("label").asText()).isNotBlank();
        assertThat(suggestion.path("actions").isEmpty()).isFalse();
        for (JsonNode action : suggestion.path("actions")) {
            assertThat(action.path("type").asText()).isEqualTo("update");
            JsonNode updated = action.path("resource");
            assertThat(updated.path("resourceType").asText()).isEqualTo("Condition");
            JsonNode status = updated.path("clinicalStatus").path("coding");
            assertThat(status.size()).isEqualTo(1);
            assertThat(status.path(0).path("system").asText()).isEqualTo("http://terminology.hl7.org/CodeSystem/condition-clinical");
            assertThat(status.path(0).path("code").asText()).isEqualTo("remission");
            JsonNode recorded = resourceIn(request, "Condition", updated.path("id").asText());
            assertThat(recorded).as("the updated Condition is one of the request's").isNotNull();
            ObjectNode rest = (ObjectNode) updated.deepCopy();
            ObjectNode recordedRest = (ObjectNode) recorded.deepCopy();
            rest.remove("clinicalStatus");
            recordedRest.remove("clinicalStatus");
            assertThat(rest.path("code")).as("the same diagnosis").isEqualTo(recordedRest.path("code"));
            assertThat(rest.path("subject")).as("the same patient").isEqualTo(recordedRest.path("subject"));
        }
    }

    private static JsonNode resourceIn(JsonNode node, String type, String id) {
        if (node.isObject() && type.equals(node.path("resourceType").asText()) && id.equals(node.path("id").asText())) {
            return node;
        }
        for (JsonNode child : node) {
            JsonNode found = resourceIn(child, type, id);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    /** Every {@code Type/id} present in the request (prefetch and context). */
    static Set<String> referencesIn(JsonNode request) {
        Set<String> refs = new HashSet<>();
        collect(request, refs);
        return refs;
    }

    private static void collect(JsonNode node, Set<String> refs) {
        if (node.isObject()) {
            if (node.has("resourceType") && node.has("id")) {
                refs.add(node.get("resourceType").asText() + "/" + node.get("id").asText());
            }
            node.elements().forEachRemaining(child -> collect(child, refs));
        } else if (node.isArray()) {
            node.elements().forEachRemaining(child -> collect(child, refs));
        }
    }
}
