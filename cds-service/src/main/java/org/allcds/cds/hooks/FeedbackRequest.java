package org.allcds.cds.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.List;

/**
 * A CDS Hooks 2.0 feedback call ({@code POST /cds-services/{id}/feedback}) whose shape has been checked
 * ({@link FeedbackReader}): every item is one of these, every value of the type and form the spec gives.
 */
public record FeedbackRequest(List<Item> items) {

    public enum Outcome { ACCEPTED, OVERRIDDEN }

    /**
     * @param card                the card's uuid
     * @param acceptedSuggestions the uuids of the suggestions taken; non-empty for {@code accepted}, empty for {@code overridden}
     * @param overrideReason      for {@code overridden} only, and optional there
     * @param extension           the EHR's extension object, or null
     */
    public record Item(String card, Outcome outcome, Instant outcomeTimestamp, List<String> acceptedSuggestions,
            OverrideReason overrideReason, JsonNode extension) {}

    /**
     * @param reason      one of the card's override reasons, or null (a comment only)
     * @param userComment the clinician's words, or null; free text: never logged
     */
    public record OverrideReason(Coding reason, String userComment) {}

    public record Coding(String system, String code, String display) {}

    public long count(Outcome outcome) {
        return items.stream().filter(i -> i.outcome() == outcome).count();
    }
}
